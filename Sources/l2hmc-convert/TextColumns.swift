/// Rows of cells as text lines, columns padded to their widest cell and separated by two
/// spaces; the last column is not padded (no trailing spaces). Cells are not escaped: the
/// inspect reports escape each finished line.
enum TextColumns {
    static func lines(header: [String], rows: [[String]]) -> [String] {
        let widths = header.indices.map { c in max(header[c].count, rows.map { $0[c].count }.max() ?? 0) }
        func line(_ r: [String]) -> String {
            r.enumerated().map { $0.offset == r.count - 1 ? $0.element : $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }
        return [line(header)] + rows.map(line)
    }
}

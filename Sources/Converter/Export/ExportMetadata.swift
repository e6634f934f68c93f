import ModelFormat

/// The `__metadata__` an exported safetensors file carries (``TorchExport``): every fact of the
/// model under `l2hmc.<fact>` with the fact's text form (the `--<fact>` flag's syntax), the masks
/// as `l2hmc.masks` (rows of `0`/`1` characters joined by `;`, in upstream's meaning and link
/// order), and `l2hmc.naming`, `l2hmc.producer`, `l2hmc.source_sha256`, plus safetensors'
/// customary `format: pt`. Reading it back, ``state(_:into:)`` turns these into statements of
/// the file, so an export converts back with no option at all.
enum ExportMetadata {
    static let prefix = "l2hmc."
    /// Keys that carry no fact.
    static let informational: Set<String> = ["l2hmc.naming", "l2hmc.producer", "l2hmc.source_sha256", "l2hmc.note"]
    /// The convolution stack's config (comma-separated integers each), as a run's `conv` group.
    static let convKeys = ["l2hmc.conv_filters", "l2hmc.conv_sizes", "l2hmc.conv_pool"]

    /// Statements of the file from `metadata` (keys outside `l2hmc.` are ignored; an unknown
    /// `l2hmc.` key is refused, as a newer exporter's fact would be).
    static func state(_ metadata: [String: String], into statements: inout FileStatements) throws {
        let conv = convKeys.map { metadata[$0] }
        if conv.contains(where: { $0 != nil }) {
            let origin = "the file (metadata l2hmc.conv_*)"
            let lists = try zip(convKeys, conv).map { key, text -> [Int] in
                guard let text else { throw ConvertError.invalidFact(fact: key, value: "(missing)", expected: "all three of \(convKeys.joined(separator: ", "))") }
                let values = text.split(separator: ",", omittingEmptySubsequences: false).map { Int($0) }
                guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) >= 1 }) else {
                    throw ConvertError.invalidFact(fact: key, value: text, expected: "comma-separated integers >= 1")
                }
                return values.compactMap { $0 }
            }
            statements.convStack = TorchConvStack.Config(filters: lists[0], sizes: lists[1], pool: lists[2], origin: origin)
        }
        for (key, text) in metadata.sorted(by: { $0.key < $1.key }) where key.hasPrefix(prefix) && !informational.contains(key) && !convKeys.contains(key) {
            let name = String(key.dropFirst(prefix.count))
            let origin = "the file (metadata \(key))"
            if name == "masks" {
                let rows = try text.split(separator: ";", omittingEmptySubsequences: false).map { row -> [UInt8] in
                    guard !row.isEmpty, row.allSatisfy({ $0 == "0" || $0 == "1" }) else {
                        throw ConvertError.invalidFact(fact: "masks", value: "(\(origin))", expected: "rows of 0/1 characters joined by ';'")
                    }
                    return row.map { $0 == "1" ? 1 : 0 }
                }
                statements.stateMasks(rows, origin: origin)
                continue
            }
            guard let fact = FactKey(rawValue: name), fact != .eps, fact != .masks else {
                throw ConvertError.invalidFact(fact: key, value: text, expected: "a known l2hmc metadata key (a fact name: \(FactKey.allCases.map(\.rawValue).joined(separator: ", ")), masks, naming, producer, source_sha256)")
            }
            try statements.state(fact, text, origin: origin)
        }
    }
}

import Foundation

/// A self-contained HTML page (inline CSS and SVG, no script, no network): a title, sections of
/// paragraphs, tables and figures. Text is escaped; SVG is inserted as produced by ``SVGPlot``.
public struct HTMLPage {
    public var title: String
    private var body: [String] = []

    public init(title: String) { self.title = title }

    /// The comment on the second line of every page: the report commands replace an existing
    /// output only when it carries it (a file it wrote itself) or with `--force`.
    public static let marker = "<!-- written by an l2hmc report command -->"

    public static func escape(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default:
                if c.value < 0x20 && c != "\n" && c != "\t" { out += "&#xFFFD;" } else { out.unicodeScalars.append(c) }
            }
        }
        return out
    }

    public mutating func heading(_ text: String) { body.append("<h2>\(Self.escape(text))</h2>") }
    public mutating func paragraph(_ text: String, cssClass: String? = nil) {
        body.append("<p\(cssClass.map { " class=\"\($0)\"" } ?? "")>\(Self.escape(text))</p>")
    }
    /// A table; rows whose flag is true are marked (class `flag`).
    public mutating func table(_ header: [String], _ rows: [[String]], flagged: [Bool] = []) {
        var t = "<table><tr>" + header.map { "<th>\(Self.escape($0))</th>" }.joined() + "</tr>\n"
        for (i, r) in rows.enumerated() {
            let flag = i < flagged.count && flagged[i]
            t += "<tr\(flag ? " class=\"flag\"" : "")>" + r.map { "<td>\(Self.escape($0))</td>" }.joined() + "</tr>\n"
        }
        body.append(t + "</table>")
    }
    public mutating func figure(_ svg: String, caption: String) {
        body.append("<figure>\(svg)<figcaption>\(Self.escape(caption))</figcaption></figure>")
    }

    public func html() -> String {
        """
        <!DOCTYPE html>
        \(Self.marker)
        <html lang="en"><head><meta charset="utf-8"><title>\(Self.escape(title))</title>
        <style>
        body { font-family: sans-serif; margin: 24px; max-width: 1100px; color: #222; }
        table { border-collapse: collapse; margin: 8px 0 16px 0; font-size: 13px; }
        th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; }
        tr.flag td { background: #fde0dd; }
        figure { margin: 12px 0 20px 0; }
        figcaption { font-size: 12px; color: #555; max-width: 720px; }
        p.warn { color: #b30000; }
        </style></head><body>
        <h1>\(Self.escape(title))</h1>
        \(body.joined(separator: "\n"))
        </body></html>

        """
    }
}

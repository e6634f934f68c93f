/// Text that came from a file (names, manifest strings, attribute values), made safe to print in
/// a one-line message.
///
/// Contract of ``escaped(_:limit:)``: the result contains no control character, no Unicode format
/// character (bidirectional overrides, zero-width characters) and no line or paragraph separator:
/// each becomes a visible escape, `\n`, `\r`, `\t`, or `\u{1b}` (Swift's notation, lower-case hex).
/// Everything else is kept as is, so already-safe text is unchanged and escaping twice is the same
/// as escaping once. Text longer than `limit` characters is cut there and says how much was cut
/// (a 256 MB string is not echoed). For display only: the escape is not meant to be reversed.
public enum UntrustedText {
    /// Default length limit of ``escaped(_:limit:)``, in characters.
    public static let defaultLimit = 4096

    public static func escaped(_ text: String, limit: Int = defaultLimit) -> String {
        if !text.unicodeScalars.contains(where: needsEscape), text.utf8.count <= limit { return text }
        var out = String.UnicodeScalarView()
        var kept = 0
        var total = 0
        for scalar in text.unicodeScalars {
            total += 1
            guard kept < limit else { continue }
            kept += 1
            guard needsEscape(scalar) else { out.append(scalar); continue }
            let escape: String
            switch scalar {
            case "\n": escape = "\\n"
            case "\r": escape = "\\r"
            case "\t": escape = "\\t"
            default: escape = "\\u{" + String(scalar.value, radix: 16) + "}"
            }
            out.append(contentsOf: escape.unicodeScalars)
        }
        var result = String(out)
        if total > kept { result += "... (\(total - kept) more characters)" }
        return result
    }

    /// Control (C0, DEL, C1), format (Cf: bidi overrides, zero-width) and line/paragraph separators.
    static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) { return true }
        if scalar.value < 0xA0 { return false }
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator: return true
        default: return false
        }
    }
}

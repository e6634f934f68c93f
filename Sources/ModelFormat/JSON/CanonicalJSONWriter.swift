/// Why `CanonicalJSONWriter.encode` refused a value (a non-finite double).
public struct CanonicalJSONError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Dotted path of the offending value, e.g. "arrays.masks.shape[1]"; "" at the root.
    public let path: String
    /// One human sentence describing the problem.
    public let detail: String

    public init(path: String, detail: String) {
        self.path = path
        self.detail = detail
    }

    /// Stable code of this failure in a tool's error line: `json.non_finite_number`.
    public var code: String { "json.non_finite_number" }

    public var description: String {
        path.isEmpty ? "JSON encoding error: \(detail)" : "JSON encoding error at \(path): \(detail)"
    }
}

/// Canonical (deterministic, byte-stable) JSON output.
///
/// Contract: `StrictJSONParser.parse(encode(v)) == v` for every finite value, and equal values whose strings
/// hold the same Unicode scalars encode to identical bytes.
public enum CanonicalJSONWriter {
    /// Deterministic serialization: object keys sorted by their UTF-8 bytes, two-space indentation,
    /// one key per line, arrays of scalars on one line ("[1, 2, 3]"), arrays containing arrays/objects one element per line,
    /// empty array "[]", empty object "{}", output ends with "\n". Strings escaped minimally (", \\, control chars as \u00XX
    /// except \n \t \r \b \f), non-ASCII written as UTF-8. Ints as decimal. Doubles in the shortest form that round-trips
    /// (Swift's `description`), but always containing '.' or 'e' so they re-parse as .double (e.g. 1.0 -> "1.0", 1e-05 -> "1e-05", 1e+20 ok).
    /// -0.0 written as "-0.0". Precondition: doubles are finite (callers validate); if not, throw.
    ///
    /// Members are written as `"key": value`; nested containers are written recursively, so the depth of
    /// `value` should stay modest (parser output is bounded by `StrictJSONParser.Limits.maxDepth`).
    public static func encode(_ value: JSONValue) throws(CanonicalJSONError) -> [UInt8] {
        var emitter = CanonicalJSONEmitter()
        try emitter.write(value, indent: 0)
        emitter.out.append(0x0A)
        return emitter.out
    }
}

private struct CanonicalJSONEmitter {
    var out: [UInt8] = []
    var path: [JSONPathComponent] = []

    mutating func write(_ value: JSONValue, indent: Int) throws(CanonicalJSONError) {
        switch value {
        case .null: out += Array("null".utf8)
        case .bool(let b): out += Array((b ? "true" : "false").utf8)
        case .int(let n): out += Array(String(n).utf8)
        case .double(let d): try writeDouble(d)
        case .string(let s): writeString(s)
        case .array(let elements): try writeArray(elements, indent: indent)
        case .object(let members): try writeObject(members, indent: indent)
        }
    }

    mutating func writeDouble(_ d: Double) throws(CanonicalJSONError) {
        guard d.isFinite else {
            throw CanonicalJSONError(path: path.dotted, detail: "non-finite number \(d) cannot be written as JSON")
        }
        var text = d.description
        if !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) { text += ".0" }
        out += Array(text.utf8)
    }

    mutating func writeString(_ s: String) {
        out.append(UInt8(ascii: "\""))
        for c in s.utf8 {
            switch c {
            case UInt8(ascii: "\""): out += [0x5C, UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): out += [0x5C, 0x5C]
            case 0x0A: out += [0x5C, UInt8(ascii: "n")]
            case 0x09: out += [0x5C, UInt8(ascii: "t")]
            case 0x0D: out += [0x5C, UInt8(ascii: "r")]
            case 0x08: out += [0x5C, UInt8(ascii: "b")]
            case 0x0C: out += [0x5C, UInt8(ascii: "f")]
            case ..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out += Array("\\u00".utf8) + [hex[Int(c >> 4)], hex[Int(c & 0xF)]]
            default: out.append(c)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    mutating func writeArray(_ elements: [JSONValue], indent: Int) throws(CanonicalJSONError) {
        if elements.isEmpty { out += Array("[]".utf8); return }
        let multiline = elements.contains { value in
            switch value {
            case .array, .object: return true
            default: return false
            }
        }
        out.append(UInt8(ascii: "["))
        for (index, element) in elements.enumerated() {
            if multiline {
                newline(indent: indent + 1)
            } else if index > 0 {
                out.append(UInt8(ascii: " "))
            }
            path.append(.index(index))
            try write(element, indent: indent + 1)
            path.removeLast()
            if index < elements.count - 1 { out.append(UInt8(ascii: ",")) }
        }
        if multiline { newline(indent: indent) }
        out.append(UInt8(ascii: "]"))
    }

    mutating func writeObject(_ members: [String: JSONValue], indent: Int) throws(CanonicalJSONError) {
        if members.isEmpty { out += Array("{}".utf8); return }
        let sorted = members.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        out.append(UInt8(ascii: "{"))
        for (index, (key, member)) in sorted.enumerated() {
            newline(indent: indent + 1)
            writeString(key)
            out += Array(": ".utf8)
            path.append(.key(key))
            try write(member, indent: indent + 1)
            path.removeLast()
            if index < sorted.count - 1 { out.append(UInt8(ascii: ",")) }
        }
        newline(indent: indent)
        out.append(UInt8(ascii: "}"))
    }

    mutating func newline(indent: Int) {
        out.append(0x0A)
        out += repeatElement(UInt8(ascii: " "), count: 2 * indent)
    }
}

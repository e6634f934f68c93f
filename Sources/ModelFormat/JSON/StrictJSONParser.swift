/// Why and where `StrictJSONParser.parse` rejected its input.
public struct StrictJSONError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: String, Equatable, Sendable {
        /// The input is not valid UTF-8 (overlong forms, encoded surrogates and truncated sequences included).
        case notUTF8
        /// The input breaks the RFC 8259 grammar (also: empty input, a byte order mark, lone `\u` surrogates,
        /// raw control characters in strings, unknown bare words).
        case syntax
        /// An object has the same key twice. `path` names the object, `detail` names the key.
        case duplicateKey
        /// `NaN`, `Infinity`, `-Infinity`, `nan`, `inf` and similar spellings (case-insensitive, optional sign).
        case nonFiniteLiteral
        /// A number literal longer than `maxNumberLength`, an integer outside `Int64`,
        /// or a fraction/exponent literal whose magnitude overflows `Double`.
        case numberOutOfRange
        /// Arrays and objects nested deeper than `maxDepth`.
        case tooDeep
        /// The input is longer than `maxBytes`, or a decoded string is longer than `maxStringBytes`.
        case tooLarge
        /// Something other than whitespace follows the root value.
        case trailingContent
    }

    public let kind: Kind
    /// Byte offset in the input where the problem was found.
    public let offset: Int
    /// Dotted path of the value being parsed, e.g. "target.lt" or "arrays.masks.shape[1]"; "" at the root.
    /// For `.duplicateKey` it is the path of the object holding the repeated key.
    public let path: String
    /// One human sentence, e.g. "key \"lt\" appears twice in object at target".
    public let detail: String

    public init(kind: Kind, offset: Int, path: String, detail: String) {
        self.kind = kind
        self.offset = offset
        self.path = path
        self.detail = detail
    }

    public var description: String {
        let at = path.isEmpty ? "" : " at \(path)"
        return "JSON \(kind.rawValue) error\(at) (byte \(offset)): \(detail)"
    }
}

/// A strict RFC 8259 JSON parser for files that must be unambiguous.
///
/// Beyond RFC 8259 it rejects: duplicate object keys, non-finite literals, numbers that do not fit
/// their representation (see `JSONValue`), input or strings above the `Limits`, and nesting deeper than
/// `maxDepth`. Input must be UTF-8 without a byte order mark (a BOM is reported as `.syntax`).
/// Whitespace is only space, tab, LF and CR. Checks run in this order: size (`tooLarge`, before any other
/// work), UTF-8 validity (`notUTF8`, offset of the first bad byte), BOM, then the grammar.
///
/// The parser is iterative (an explicit stack of open containers), so hostile nesting cannot overflow the
/// call stack; it never traps on any input. Note that the returned value is released and compared
/// recursively, so keep `maxDepth` modest (the default 32 is plenty for manifests).
public struct StrictJSONParser {
    public struct Limits: Sendable {
        /// Largest accepted input, in bytes.
        public var maxBytes: Int = 1 << 20
        /// Deepest accepted nesting of arrays and objects; a root scalar has depth 0, `[]` depth 1.
        public var maxDepth: Int = 32
        /// Longest accepted number literal, in characters (sign, digits, '.', exponent included).
        public var maxNumberLength: Int = 64
        /// Longest accepted string (values and keys), counted in UTF-8 bytes after unescaping.
        public var maxStringBytes: Int = 1 << 16
        public init() {}
    }

    /// Parses exactly one JSON value from `bytes`, or throws a `StrictJSONError` describing the first problem.
    public static func parse(_ bytes: [UInt8], limits: Limits = Limits()) throws(StrictJSONError) -> JSONValue {
        if bytes.count > limits.maxBytes {
            throw StrictJSONError(kind: .tooLarge, offset: limits.maxBytes, path: "",
                                  detail: "input is \(bytes.count) bytes, more than the limit of \(limits.maxBytes)")
        }
        if let bad = firstInvalidUTF8(bytes) {
            throw StrictJSONError(kind: .notUTF8, offset: bad, path: "",
                                  detail: "invalid UTF-8 sequence starting with byte \(hex(bytes[bad]))")
        }
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
            throw StrictJSONError(kind: .syntax, offset: 0, path: "", detail: "a byte order mark is not allowed")
        }
        var reader = StrictJSONReader(bytes: bytes, limits: limits)
        return try reader.parseDocument()
    }

    /// Offset of the first byte that does not start a well-formed UTF-8 sequence, or nil.
    static func firstInvalidUTF8(_ b: [UInt8]) -> Int? {
        var i = 0
        while i < b.count {
            let c = b[i]
            if c < 0x80 { i += 1; continue }
            var length = 0, low: UInt8 = 0x80, high: UInt8 = 0xBF
            switch c {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; low = 0xA0            // no overlong 3-byte forms
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; high = 0x9F           // no UTF-16 surrogates
            case 0xF0: length = 4; low = 0x90            // no overlong 4-byte forms
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; high = 0x8F           // nothing above U+10FFFF
            default: return i
            }
            guard i + length <= b.count, (low...high).contains(b[i + 1]) else { return i }
            for k in 2..<length where !(0x80...0xBF).contains(b[i + k]) { return i }
            i += length
        }
        return nil
    }

    static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return "0x" + String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 0xF)])
    }
}

/// The state of the iterative parser. Works on bytes already known to be valid UTF-8.
private struct StrictJSONReader {
    /// An array or object that has been opened and not yet closed.
    struct Frame {
        let isObject: Bool
        var elements: [JSONValue] = []
        var members: [String: JSONValue] = [:]
        /// Key of the member whose value is being parsed; nil while the key itself is being read.
        var key: String?
    }

    let b: [UInt8]
    let limits: StrictJSONParser.Limits
    var i = 0
    var stack: [Frame] = []

    init(bytes: [UInt8], limits: StrictJSONParser.Limits) {
        self.b = bytes
        self.limits = limits
    }

    // MARK: Structure

    mutating func parseDocument() throws(StrictJSONError) -> JSONValue {
        skipWhitespace()
        if i == b.count { throw fail(.syntax, "the input is empty") }
        nextValue: while true {
            skipWhitespace()
            guard i < b.count else { throw fail(.syntax, "unexpected end of input, expected a value") }
            var value: JSONValue
            switch b[i] {
            case UInt8(ascii: "["):
                try checkDepth()
                i += 1
                skipWhitespace()
                if i < b.count, b[i] == UInt8(ascii: "]") {
                    i += 1
                    value = .array([])
                } else {
                    stack.append(Frame(isObject: false))
                    continue nextValue
                }
            case UInt8(ascii: "{"):
                try checkDepth()
                i += 1
                skipWhitespace()
                if i < b.count, b[i] == UInt8(ascii: "}") {
                    i += 1
                    value = .object([:])
                } else {
                    stack.append(Frame(isObject: true))
                    try readKey()
                    continue nextValue
                }
            default:
                value = try parseScalar()
            }

            // A value is complete: attach it to the open container, closing containers as they end.
            while true {
                guard !stack.isEmpty else {
                    skipWhitespace()
                    if i < b.count { throw fail(.trailingContent, "unexpected content after the root value") }
                    return value
                }
                let top = stack.count - 1
                skipWhitespace()
                if stack[top].isObject {
                    if let key = stack[top].key { stack[top].members[key] = value }   // object frames always hold a key here
                    guard i < b.count else { throw fail(.syntax, "unexpected end of input inside an object") }
                    if b[i] == UInt8(ascii: ",") {
                        i += 1
                        stack[top].key = nil
                        try readKey()
                        continue nextValue
                    }
                    guard b[i] == UInt8(ascii: "}") else { throw fail(.syntax, "expected ',' or '}' after an object member") }
                    i += 1
                    value = .object(stack.removeLast().members)
                } else {
                    stack[top].elements.append(value)
                    guard i < b.count else { throw fail(.syntax, "unexpected end of input inside an array") }
                    if b[i] == UInt8(ascii: ",") {
                        i += 1
                        continue nextValue
                    }
                    guard b[i] == UInt8(ascii: "]") else { throw fail(.syntax, "expected ',' or ']' after an array element") }
                    i += 1
                    value = .array(stack.removeLast().elements)
                }
            }
        }
    }

    mutating func checkDepth() throws(StrictJSONError) {
        if stack.count >= limits.maxDepth {
            throw fail(.tooDeep, "arrays and objects are nested deeper than the limit of \(limits.maxDepth)")
        }
    }

    /// Reads `"key" :` for the object on top of the stack and rejects a repeated key.
    mutating func readKey() throws(StrictJSONError) {
        skipWhitespace()
        guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw fail(.syntax, "expected a string key") }
        let keyStart = i
        let key = try parseString()
        let top = stack.count - 1
        if stack[top].members[key] != nil {
            let path = currentPath()
            let place = path.isEmpty ? "the root object" : "object at \(path)"
            throw StrictJSONError(kind: .duplicateKey, offset: keyStart, path: path,
                                  detail: "key \"\(key)\" appears twice in \(place)")
        }
        skipWhitespace()
        guard i < b.count, b[i] == UInt8(ascii: ":") else { throw fail(.syntax, "expected ':' after an object key") }
        i += 1
        stack[top].key = key
    }

    // MARK: Scalars

    mutating func parseScalar() throws(StrictJSONError) -> JSONValue {
        let c = b[i]
        switch c {
        case UInt8(ascii: "\""):
            return .string(try parseString())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try parseNumber()
        case UInt8(ascii: "+"):
            if i + 1 < b.count, isLetter(b[i + 1]) { return try parseWord(signed: true) }
            throw fail(.syntax, "a number may not start with '+'")
        case UInt8(ascii: "."):
            throw fail(.syntax, "a number must start with a digit")
        default:
            if isLetter(c) { return try parseWord(signed: false) }
            throw fail(.syntax, "unexpected \(describe(c)), expected a value")
        }
    }

    /// A bare word: `true`, `false`, `null`; non-finite spellings are reported specially.
    mutating func parseWord(signed: Bool) throws(StrictJSONError) -> JSONValue {
        let start = i
        if signed { i += 1 }
        let wordStart = i
        while i < b.count, isLetter(b[i]) { i += 1 }
        let word = String(decoding: b[wordStart..<i], as: UTF8.self)
        if ["nan", "inf", "infinity"].contains(word.lowercased()) {
            i = start
            throw fail(.nonFiniteLiteral, "non-finite number literal is not allowed")
        }
        var value: JSONValue?
        if !signed {
            switch word {
            case "true": value = .bool(true)
            case "false": value = .bool(false)
            case "null": value = .null
            default: break
            }
        }
        guard let value, !(i < b.count && isLiteralContinuation(b[i])) else {
            i = start
            throw fail(.syntax, "unknown literal '\(word.prefix(24))'")
        }
        return value
    }

    mutating func parseNumber() throws(StrictJSONError) -> JSONValue {
        let start = i
        if b[i] == UInt8(ascii: "-") {
            i += 1
            if i < b.count, isLetter(b[i]) {
                i = start
                return try parseWord(signed: true)
            }
        }
        guard i < b.count, isDigit(b[i]) else { throw fail(.syntax, "expected a digit after '-'") }
        if b[i] == UInt8(ascii: "0") {
            i += 1
            if i < b.count, isDigit(b[i]) { throw fail(.syntax, "leading zeros are not allowed in numbers") }
        } else {
            skipDigits()
        }
        var isInteger = true
        if i < b.count, b[i] == UInt8(ascii: ".") {
            isInteger = false
            i += 1
            guard i < b.count, isDigit(b[i]) else { throw fail(.syntax, "expected a digit after '.'") }
            skipDigits()
        }
        if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            isInteger = false
            i += 1
            if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
            guard i < b.count, isDigit(b[i]) else { throw fail(.syntax, "expected a digit in the exponent") }
            skipDigits()
        }
        if i < b.count, isLiteralContinuation(b[i]) {
            throw fail(.syntax, "unexpected \(describe(b[i])) in a number")
        }
        let end = i
        i = start   // errors below point at the start of the literal
        if end - start > limits.maxNumberLength {
            throw fail(.numberOutOfRange, "number literal is longer than \(limits.maxNumberLength) characters")
        }
        let text = String(decoding: b[start..<end], as: UTF8.self)
        if isInteger {
            guard let v = Int64(text) else { throw fail(.numberOutOfRange, "integer \(text) does not fit in 64 bits") }
            i = end
            return .int(v)
        }
        guard let d = Double(text), d.isFinite else {
            throw fail(.numberOutOfRange, "number \(text) is too large for a double")
        }
        i = end
        return .double(d)
    }

    /// Parses a string starting at the opening quote; returns its unescaped contents.
    mutating func parseString() throws(StrictJSONError) -> String {
        let start = i
        i += 1
        var out: [UInt8] = []
        while true {
            guard i < b.count else { i = start; throw fail(.syntax, "unterminated string") }
            let c = b[i]
            if c == UInt8(ascii: "\"") {
                i += 1
                return String(decoding: out, as: UTF8.self)
            } else if c == UInt8(ascii: "\\") {
                try parseEscape(into: &out)
            } else if c < 0x20 {
                throw fail(.syntax, "raw control character \(StrictJSONParser.hex(c)) in a string must be escaped")
            } else {
                out.append(c)
                i += 1
            }
            if out.count > limits.maxStringBytes {
                i = start
                throw fail(.tooLarge, "string is longer than \(limits.maxStringBytes) bytes")
            }
        }
    }

    /// Parses one escape sequence at `b[i] == '\\'`, appending its UTF-8 bytes.
    mutating func parseEscape(into out: inout [UInt8]) throws(StrictJSONError) {
        guard i + 1 < b.count else { throw fail(.syntax, "unterminated escape sequence") }
        let simple: UInt8?
        switch b[i + 1] {
        case UInt8(ascii: "\""): simple = 0x22
        case UInt8(ascii: "\\"): simple = 0x5C
        case UInt8(ascii: "/"): simple = 0x2F
        case UInt8(ascii: "b"): simple = 0x08
        case UInt8(ascii: "f"): simple = 0x0C
        case UInt8(ascii: "n"): simple = 0x0A
        case UInt8(ascii: "r"): simple = 0x0D
        case UInt8(ascii: "t"): simple = 0x09
        case UInt8(ascii: "u"): simple = nil
        default: throw fail(.syntax, "invalid escape sequence: backslash followed by \(describe(b[i + 1]))")
        }
        if let simple {
            out.append(simple)
            i += 2
            return
        }
        guard let unit = hex4(at: i + 2) else { throw fail(.syntax, "\\u must be followed by four hex digits") }
        switch unit {
        case 0xD800...0xDBFF:
            guard i + 7 < b.count, b[i + 6] == UInt8(ascii: "\\"), b[i + 7] == UInt8(ascii: "u"),
                  let low = hex4(at: i + 8), (0xDC00...0xDFFF).contains(low) else {
                throw fail(.syntax, "high surrogate \\u\(String(unit, radix: 16)) is not followed by a low surrogate")
            }
            appendUTF8(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00), to: &out)
            i += 12
        case 0xDC00...0xDFFF:
            throw fail(.syntax, "low surrogate \\u\(String(unit, radix: 16)) without a preceding high surrogate")
        default:
            appendUTF8(unit, to: &out)
            i += 6
        }
    }

    func hex4(at position: Int) -> UInt32? {
        guard position + 4 <= b.count else { return nil }
        var v: UInt32 = 0
        for k in position..<position + 4 {
            let c = b[k]
            let d: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
            default: return nil
            }
            v = v << 4 | UInt32(d)
        }
        return v
    }

    func appendUTF8(_ v: UInt32, to out: inout [UInt8]) {
        switch v {
        case ..<0x80:
            out.append(UInt8(v))
        case ..<0x800:
            out += [UInt8(0xC0 | v >> 6), UInt8(0x80 | v & 0x3F)]
        case ..<0x10000:
            out += [UInt8(0xE0 | v >> 12), UInt8(0x80 | v >> 6 & 0x3F), UInt8(0x80 | v & 0x3F)]
        default:
            out += [UInt8(0xF0 | v >> 18), UInt8(0x80 | v >> 12 & 0x3F),
                    UInt8(0x80 | v >> 6 & 0x3F), UInt8(0x80 | v & 0x3F)]
        }
    }

    // MARK: Helpers

    mutating func skipWhitespace() {
        while i < b.count {
            switch b[i] {
            case 0x20, 0x09, 0x0A, 0x0D: i += 1
            default: return
            }
        }
    }

    mutating func skipDigits() {
        while i < b.count, isDigit(b[i]) { i += 1 }
    }

    func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }

    func isLetter(_ c: UInt8) -> Bool { (c | 0x20) >= UInt8(ascii: "a") && (c | 0x20) <= UInt8(ascii: "z") }

    /// Bytes that may not directly follow a number or bare word (they would make it a different token).
    func isLiteralContinuation(_ c: UInt8) -> Bool {
        isDigit(c) || isLetter(c) || c == UInt8(ascii: ".") || c == UInt8(ascii: "+") || c == UInt8(ascii: "-")
    }

    func describe(_ c: UInt8) -> String {
        c >= 0x21 && c < 0x7F ? "'\(Character(Unicode.Scalar(c)))'" : "byte \(StrictJSONParser.hex(c))"
    }

    func currentPath() -> String {
        var components: [JSONPathComponent] = []
        for frame in stack {
            if !frame.isObject {
                components.append(.index(frame.elements.count))
            } else if let key = frame.key {
                components.append(.key(key))
            }
        }
        return components.dotted
    }

    func fail(_ kind: StrictJSONError.Kind, _ detail: String) -> StrictJSONError {
        StrictJSONError(kind: kind, offset: i, path: currentPath(), detail: detail)
    }
}

/// Reads and writes NumPy `.npy` version 1.0 members.
///
/// Written form: magic `\x93NUMPY`, version 1.0, a little-endian UInt16 header length, and the
/// header dict `{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }` padded with spaces and
/// a final newline so that magic + length + header is a multiple of 64 bytes (numpy's own rule),
/// followed by the raw C-order data.
///
/// Reading is strict: only version 1.0, only the dtypes of ``DType``, C order, the three keys
/// exactly once, non-negative integer dimensions whose product does not overflow, and exactly the
/// declared number of data bytes. The header is bounded by ``ReadLimits/maxNpyHeaderBytes``
/// before it is parsed, and nothing is allocated in proportion to a declared size.
public enum NpyCodec {
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY
    /// Header alignment in bytes: the data of every member starts 64-byte aligned in the member.
    public static let headerAlignment = 64

    /// Serialized bytes of one array.
    public static func encode(_ array: NDArray) -> [UInt8] {
        header(dtype: array.dtype, shape: array.shape) + array.bytes
    }

    /// Magic, version, length and header dict for an array of `shape`, padded with spaces and a
    /// final newline to a multiple of 64 bytes, or to exactly `length` bytes when given (a fixed
    /// size lets a growing file rewrite its shape in place; nil when the dict does not fit).
    public static func header(dtype: DType, shape: [Int], length: Int? = nil) -> [UInt8] {
        let shapeText: String
        switch shape.count {
        case 0: shapeText = "()"
        case 1: shapeText = "(\(shape[0]),)"
        default: shapeText = "(" + shape.map(String.init).joined(separator: ", ") + ")"
        }
        var header = "{'descr': '\(dtype.npyDescr)', 'fortran_order': False, 'shape': \(shapeText), }"
        let unpadded = magic.count + 2 + 2 + header.utf8.count + 1
        let padding = length.map { max(0, $0 - unpadded) } ?? (headerAlignment - unpadded % headerAlignment) % headerAlignment
        header += String(repeating: " ", count: padding) + "\n"
        var out = magic + [1, 0]
        let headerLength = UInt16(header.utf8.count)
        out += [UInt8(headerLength & 0xFF), UInt8(headerLength >> 8)]
        out += Array(header.utf8)
        return out
    }

    /// Parsed header of a member: where the data starts and what it declares.
    public struct Header: Equatable, Sendable {
        public let dtype: DType
        public let shape: [Int]
        public let dataOffset: Int
        public let dataByteCount: Int
    }

    /// Parses and validates the header of `member` without touching the data.
    public static func parseHeader(_ bytes: UnsafeRawBufferPointer, member: String, limits: ReadLimits) throws -> Header {
        guard bytes.count >= 10, zip(magic, bytes.prefix(6)).allSatisfy({ $0 == $1 }) else {
            throw L2ZError.npyBadMagic(member: member)
        }
        guard bytes[6] == 1, bytes[7] == 0 else {
            throw L2ZError.npyUnsupportedVersion(member: member, found: "\(bytes[6]).\(bytes[7])")
        }
        let headerLength = Int(bytes[8]) | (Int(bytes[9]) << 8)
        guard headerLength <= limits.maxNpyHeaderBytes else {
            throw L2ZError.npyHeaderTooLarge(member: member, size: headerLength, limit: limits.maxNpyHeaderBytes)
        }
        guard 10 + headerLength <= bytes.count else {
            throw L2ZError.npyMalformedHeader(member: member, reason: "header length \(headerLength) runs past the end of the member")
        }
        let headerBytes = Array(bytes[10..<(10 + headerLength)])
        guard headerBytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F || $0 == 0x0A }), let text = String(bytes: headerBytes, encoding: .ascii) else {
            throw L2ZError.npyMalformedHeader(member: member, reason: "header is not printable ASCII")
        }
        var parser = NpyHeaderParser(text: text, member: member)
        let (descr, fortran, shape) = try parser.parse()
        guard let dtype = DType(npyDescr: descr) else { throw L2ZError.unsupportedDType(member: member, descr: descr) }
        guard !fortran else { throw L2ZError.fortranOrder(member: member) }
        guard shape.count <= limits.maxDimensions else {
            throw L2ZError.invalidShape(member: member, reason: "\(shape.count) dimensions, more than the limit of \(limits.maxDimensions)")
        }
        guard let count = NDArray.checkedElementCount(shape), count <= limits.maxElements else {
            throw L2ZError.invalidShape(member: member, reason: "element count of shape \(shape) overflows or exceeds the limit of \(limits.maxElements)")
        }
        let (dataBytes, overflow) = count.multipliedReportingOverflow(by: dtype.itemSize)
        guard !overflow else {
            throw L2ZError.invalidShape(member: member, reason: "byte count of shape \(shape) overflows")
        }
        let dataOffset = 10 + headerLength
        let present = bytes.count - dataOffset
        if present < dataBytes { throw L2ZError.arrayTruncated(member: member, expectedBytes: dataBytes, actualBytes: present) }
        if present > dataBytes { throw L2ZError.arrayTrailingBytes(member: member, expectedBytes: dataBytes, actualBytes: present) }
        return Header(dtype: dtype, shape: shape, dataOffset: dataOffset, dataByteCount: dataBytes)
    }

    /// Decodes a whole member into an array.
    public static func decode(_ member: [UInt8], name: String, limits: ReadLimits) throws -> NDArray {
        try member.withUnsafeBytes { raw in
            let header = try parseHeader(raw, member: name, limits: limits)
            let data = Array(raw[header.dataOffset..<(header.dataOffset + header.dataByteCount)])
            if header.dtype == .bool, let bad = data.firstIndex(where: { $0 > 1 }) {
                throw L2ZError.invalidArrayValues(name: name, reason: "bool element \(bad) has byte value \(data[bad]) (must be 0 or 1)")
            }
            return try NDArray(dtype: header.dtype, shape: header.shape, bytes: data)
        }
    }
}

/// Parser for the Python-literal dict of an `.npy` header. Accepts exactly the keys `descr`,
/// `fortran_order` and `shape`, each once, in any order, with an optional trailing comma, and
/// the padding numpy writes (spaces, then one newline).
struct NpyHeaderParser {
    let chars: [Character]
    let member: String
    var i = 0

    init(text: String, member: String) {
        self.chars = Array(text)
        self.member = member
    }

    mutating func parse() throws -> (String, Bool, [Int]) {
        var descr: String?, fortran: Bool?, shape: [Int]?
        skipSpaces()
        try expect("{")
        while true {
            skipSpaces()
            if peek() == "}" { i += 1; break }
            let key = try quotedString()
            skipSpaces(); try expect(":"); skipSpaces()
            switch key {
            case "descr":
                guard descr == nil else { throw fail("key 'descr' appears twice") }
                descr = try quotedString()
            case "fortran_order":
                guard fortran == nil else { throw fail("key 'fortran_order' appears twice") }
                fortran = try boolean()
            case "shape":
                guard shape == nil else { throw fail("key 'shape' appears twice") }
                shape = try tuple()
            default:
                throw fail("unknown key '\(key)'")
            }
            skipSpaces()
            if peek() == "," { i += 1; continue }
            skipSpaces()
            try expect("}")
            break
        }
        while i < chars.count, chars[i] == " " { i += 1 }
        guard i == chars.count - 1, chars[i] == "\n" else { throw fail("header must end with spaces and one newline") }
        guard let d = descr, let f = fortran, let s = shape else {
            throw fail("header must have the keys 'descr', 'fortran_order' and 'shape'")
        }
        return (d, f, s)
    }

    private func fail(_ reason: String) -> L2ZError { .npyMalformedHeader(member: member, reason: reason) }
    private func peek() -> Character? { i < chars.count ? chars[i] : nil }
    private mutating func skipSpaces() { while i < chars.count, chars[i] == " " { i += 1 } }
    private mutating func expect(_ c: Character) throws {
        guard peek() == c else { throw fail("expected '\(c)' at column \(i)") }
        i += 1
    }
    private mutating func quotedString() throws -> String {
        guard let q = peek(), q == "'" || q == "\"" else { throw fail("expected a quoted string at column \(i)") }
        i += 1
        var s = ""
        while let c = peek(), c != q {
            guard c != "\\", s.count < 64 else { throw fail("string too long or escaped at column \(i)") }
            s.append(c); i += 1
        }
        try expect(q)
        return s
    }
    private mutating func boolean() throws -> Bool {
        if chars[i...].starts(with: "True") { i += 4; return true }
        if chars[i...].starts(with: "False") { i += 5; return false }
        throw fail("fortran_order must be True or False")
    }
    private mutating func tuple() throws -> [Int] {
        try expect("(")
        var dims: [Int] = []
        while true {
            skipSpaces()
            if peek() == ")" { i += 1; break }
            var digits = ""
            while let c = peek(), c.isASCII, c.isNumber { digits.append(c); i += 1 }
            guard !digits.isEmpty else {
                throw fail("shape dimension at column \(i) is not a non-negative integer")
            }
            guard digits.count <= 15, let d = Int(digits), digits == "0" || !digits.hasPrefix("0") else {
                throw L2ZError.invalidShape(member: member, reason: "dimension \(digits) is out of range")
            }
            dims.append(d)
            guard dims.count <= 64 else { throw fail("too many dimensions") }
            skipSpaces()
            if peek() == "," { i += 1; continue }
            try expect(")")
            break
        }
        if dims.count == 1, chars[i - 2] != "," {
            // "(3)" is an int in Python, not a tuple; numpy writes "(3,)".
            throw fail("a one-dimensional shape must be written (n,)")
        }
        return dims
    }
}

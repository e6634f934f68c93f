import Foundation
import ModelFormat

/// A safetensors file (huggingface/safetensors), read strictly (docs/CONVERT.md, "safetensors").
///
/// Layout: an 8-byte little-endian unsigned header length N, N bytes of UTF-8 JSON, then the data
/// buffer (everything after the header). Every rule below is checked before any tensor is
/// decoded, each refused with its own ``ConvertError/safetensors(path:problem:detail:)`` code:
/// - `truncated`: the file is shorter than 8 bytes, or N is larger than the file minus 8;
/// - `header_too_large`: N above ``maxHeaderBytes`` (100,000,000, the reference library's bound);
/// - `json`: the header is not strict JSON (``ModelFormat/StrictJSONParser``: UTF-8, no duplicate
///   keys, nothing but whitespace after the value; trailing spaces are the library's padding);
/// - `header`: the top level is not an object, or a tensor entry is not an object with exactly
///   `dtype`, `shape` and `data_offsets`;
/// - `metadata`: `__metadata__` is not an object of strings;
/// - `name`: a tensor name is empty, longer than ``maxNameBytes``, or holds control characters;
/// - `dtype`: a dtype outside ``SafetensorsDType``;
/// - `shape`: not a list of at most ``maxRank`` non-negative integers, or its element count or
///   byte size overflows `Int` (computed with overflow checks, nothing allocated);
/// - `offsets`: `data_offsets` is not `[begin, end]` with `0 <= begin <= end <= data size`;
/// - `size_mismatch`: element count times the dtype size differs from `end - begin`;
/// - `overlap`, `gap`, `trailing_bytes`: sorted by `begin`, the tensors do not tile the data buffer
///   exactly (each begins where the previous ends, the last ends at the end of the file).
///
/// Values: little-endian; ``values(_:)`` converts F64, F32, F16 and BF16 to `Double` exactly (every
/// value of these types is a `Double`) and refuses non-finite values; the integer, boolean and
/// float8 dtypes are listed but not converted (`convert.wrong_dtype`).
public struct SafetensorsFile: Sendable {
    /// The file as named in messages.
    public let path: String
    /// Tensors in name order (the header's order is not kept: JSON objects are unordered).
    public let tensors: [SafetensorsTensor]
    /// `__metadata__` (empty when absent).
    public let metadata: [String: String]
    /// N, the JSON header's length in bytes.
    public let headerBytes: Int
    /// Size of the data buffer (the file minus 8 minus N).
    public var dataBytes: Int { bytes.count - dataStart }
    private let bytes: [UInt8]
    private var dataStart: Int { 8 + headerBytes }

    /// The reference implementation's bound on N.
    public static let maxHeaderBytes = 100_000_000
    /// Longest tensor name, in UTF-8 bytes (PyTorch state-dict keys are a few dozen).
    public static let maxNameBytes = 1024
    /// Most dimensions a shape may have.
    public static let maxRank = 64
    /// Largest file read (the whole file is held in memory): 4 GiB.
    public static let defaultMaxFileBytes = 1 << 32

    /// Reads and checks the regular file `path` (at most `maxFileBytes`, refused before reading).
    public init(path: String, maxFileBytes: Int = SafetensorsFile.defaultMaxFileBytes) throws {
        try SourcePath.requireRegularFile(path)
        try self.init(bytes: try AtomicFile.read(path, limit: maxFileBytes), path: path)
    }

    /// Checks `bytes` as a whole safetensors file; `path` only names it in messages.
    public init(bytes: [UInt8], path: String) throws {
        self.path = path
        self.bytes = bytes
        func fail(_ p: SafetensorsProblem, _ detail: String) -> ConvertError { .safetensors(path: path, problem: p, detail: detail) }
        guard bytes.count >= 8 else {
            throw fail(.truncated, "the file has \(bytes.count) byte(s), fewer than the 8 of the header length")
        }
        var n: UInt64 = 0
        for i in 0..<8 { n |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard n <= UInt64(Self.maxHeaderBytes) else {
            throw fail(.headerTooLarge, "header length \(n) is above the limit of \(Self.maxHeaderBytes) bytes")
        }
        guard Int(n) <= bytes.count - 8 else {
            throw fail(.truncated, "header length \(n) runs past the end of the file (\(bytes.count - 8) bytes follow the length)")
        }
        headerBytes = Int(n)
        var limits = StrictJSONParser.Limits()
        limits.maxBytes = Self.maxHeaderBytes
        limits.maxDepth = 3  // root object -> entry object -> shape / offsets array
        limits.maxStringBytes = 1 << 24
        let json: JSONValue
        do { json = try StrictJSONParser.parse(Array(bytes[8..<(8 + headerBytes)]), limits: limits) } catch {
            throw fail(.json, "the header is not strict JSON: \(error)")
        }
        guard case let .object(root) = json else {
            throw fail(.header, "the header is a JSON \(json.typeName), expected an object of tensors")
        }
        var metadata: [String: String] = [:]
        if let m = root["__metadata__"] {
            guard case let .object(entries) = m else { throw fail(.metadata, "__metadata__ is a JSON \(m.typeName), expected an object of strings") }
            for (key, value) in entries.sorted(by: { $0.key < $1.key }) {
                guard case let .string(s) = value else { throw fail(.metadata, "__metadata__ key \(key.debugDescription) is a JSON \(value.typeName), expected a string") }
                metadata[key] = s
            }
        }
        self.metadata = metadata
        let dataSize = bytes.count - 8 - headerBytes
        var tensors: [SafetensorsTensor] = []
        for (name, entry) in root.sorted(by: { $0.key < $1.key }) where name != "__metadata__" {
            tensors.append(try Self.tensor(name: name, entry: entry, dataSize: dataSize, fail: fail))
        }
        // The tensors must tile [0, dataSize) exactly (zero-size tensors sit anywhere on the tiling).
        var end = 0
        var previous: String?
        for t in tensors.sorted(by: { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }) {
            if t.begin < end {
                throw fail(.overlap, "tensor \(t.name.debugDescription) bytes [\(t.begin), \(t.end)) overlap tensor \((previous ?? "").debugDescription), which ends at \(end)")
            }
            if t.begin > end {
                let after = previous.map { "after tensor \($0.debugDescription)" } ?? "at the start of the data"
                throw fail(.gap, "bytes [\(end), \(t.begin)) \(after) belong to no tensor (next: \(t.name.debugDescription))")
            }
            end = t.end
            previous = t.name
        }
        if end != dataSize {
            throw fail(.trailingBytes, "\(dataSize - end) byte(s) after the last tensor (data ends at \(end), the file at \(dataSize)) belong to no tensor")
        }
        self.tensors = tensors
    }

    private static func tensor(name: String, entry: JSONValue, dataSize: Int, fail: (SafetensorsProblem, String) -> ConvertError) throws -> SafetensorsTensor {
        let utf8 = name.utf8.count
        guard utf8 > 0, utf8 <= maxNameBytes else {
            throw fail(.name, "tensor name \(String(name.prefix(64)).debugDescription) has \(utf8) UTF-8 bytes; expected 1 to \(maxNameBytes)")
        }
        if let bad = name.unicodeScalars.first(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) {
            throw fail(.name, "tensor name \(name.debugDescription) holds the control character U+\(String(format: "%04X", bad.value))")
        }
        let quoted = name.debugDescription
        guard case let .object(fields) = entry else {
            throw fail(.header, "tensor \(quoted) is a JSON \(entry.typeName), expected an object with dtype, shape and data_offsets")
        }
        let expected: Set<String> = ["dtype", "shape", "data_offsets"]
        let keys = Set(fields.keys)
        if let extra = keys.subtracting(expected).sorted().first {
            throw fail(.header, "tensor \(quoted) has the unknown key \(extra.debugDescription); expected exactly dtype, shape and data_offsets")
        }
        if let missing = expected.subtracting(keys).sorted().first {
            throw fail(.header, "tensor \(quoted) lacks \(missing)")
        }
        guard case let .string(dtypeText)? = fields["dtype"] else {
            throw fail(.dtype, "tensor \(quoted): dtype is a JSON \(fields["dtype"]?.typeName ?? "null"), expected a string")
        }
        guard let dtype = SafetensorsDType(rawValue: dtypeText) else {
            throw fail(.dtype, "tensor \(quoted) has the unknown dtype \(dtypeText.debugDescription); known: \(SafetensorsDType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard case let .array(dims)? = fields["shape"], dims.count <= maxRank else {
            throw fail(.shape, "tensor \(quoted): shape is not a list of at most \(maxRank) integers")
        }
        var shape: [Int] = []
        var count = 1
        var overflow = false
        for d in dims {
            guard case let .int(v) = d, v >= 0 else { throw fail(.shape, "tensor \(quoted): shape \(Self.text(dims)) holds \(Self.text([d])), expected non-negative integers") }
            shape.append(Int(v))
            let (p, o) = count.multipliedReportingOverflow(by: Int(v))
            count = p
            overflow = overflow || o
        }
        let (size, o2) = count.multipliedReportingOverflow(by: dtype.itemSize)
        if overflow || o2 {
            throw fail(.shape, "tensor \(quoted): shape \(shape) of \(dtype.rawValue) has more bytes than Int can count")
        }
        guard case let .array(offsets)? = fields["data_offsets"], offsets.count == 2,
              case let .int(b) = offsets[0], case let .int(e) = offsets[1] else {
            throw fail(.offsets, "tensor \(quoted): data_offsets is not a list of two integers")
        }
        guard b >= 0, b <= e, e <= Int64(dataSize) else {
            throw fail(.offsets, "tensor \(quoted): data_offsets [\(b), \(e)] are not within the \(dataSize)-byte data buffer with begin <= end")
        }
        guard Int(e - b) == size else {
            throw fail(.sizeMismatch, "tensor \(quoted): shape \(shape) of \(dtype.rawValue) is \(size) bytes, but data_offsets [\(b), \(e)] span \(e - b)")
        }
        return SafetensorsTensor(name: name, dtype: dtype, shape: shape, begin: Int(b), end: Int(e))
    }

    private static func text(_ values: [JSONValue]) -> String {
        "[" + values.map { v -> String in
            switch v {
            case let .int(i): return String(i)
            case let .double(d): return String(d)
            default: return v.typeName
            }
        }.joined(separator: ", ") + "]"
    }

    /// The tensor named `name`, if any.
    public func tensor(named name: String) -> SafetensorsTensor? { tensors.first { $0.name == name } }

    /// The tensor's values as doubles in row-major order, with its shape. Exact for F64, F32, F16
    /// and BF16 (each value is representable as a `Double`); other dtypes throw
    /// `convert.wrong_dtype`; any NaN or infinity throws `convert.non_finite` naming the first index.
    public func values(_ t: SafetensorsTensor) throws -> (values: [Double], shape: [Int]) {
        let location = "\(path):\(t.name)"
        guard t.dtype.isConvertible else {
            throw ConvertError.wrongDType(source: location, found: t.dtype.rawValue, expected: "F64, F32, F16 or BF16")
        }
        let count = t.elementCount
        var out = [Double](repeating: 0, count: count)
        let base = dataStart + t.begin
        bytes.withUnsafeBufferPointer { b in
            func u16(_ i: Int) -> UInt16 { UInt16(b[base + 2 * i]) | UInt16(b[base + 2 * i + 1]) << 8 }
            func u32(_ i: Int) -> UInt32 {
                var v: UInt32 = 0
                for k in 0..<4 { v |= UInt32(b[base + 4 * i + k]) << (8 * UInt32(k)) }
                return v
            }
            func u64(_ i: Int) -> UInt64 {
                var v: UInt64 = 0
                for k in 0..<8 { v |= UInt64(b[base + 8 * i + k]) << (8 * UInt64(k)) }
                return v
            }
            for i in 0..<count {
                switch t.dtype {
                case .f64: out[i] = Double(bitPattern: u64(i))
                case .f32: out[i] = Double(Float(bitPattern: u32(i)))
                case .f16: out[i] = Self.half(u16(i))
                case .bf16: out[i] = Double(Float(bitPattern: UInt32(u16(i)) << 16))
                default: break
                }
            }
        }
        if let first = out.firstIndex(where: { !$0.isFinite }) {
            throw ConvertError.nonFinite(source: location, count: out.reduce(0) { $0 + ($1.isFinite ? 0 : 1) }, firstIndex: first)
        }
        return (out, t.shape)
    }

    /// IEEE 754 binary16 to Double: exact (sign, 5-bit exponent biased by 15, 10-bit fraction).
    static func half(_ h: UInt16) -> Double {
        let sign: Double = h & 0x8000 != 0 ? -1 : 1
        let exponent = Int(h >> 10 & 0x1F), fraction = Double(h & 0x3FF)
        switch exponent {
        case 0: return sign * fraction * 0x1p-24
        case 31: return fraction == 0 ? sign * .infinity : .nan
        default: return sign * (1024 + fraction) * Double(sign: .plus, exponent: exponent - 25, significand: 1)
        }
    }

    /// True when `head` (the first bytes of a file) starts like a safetensors file: a header length
    /// no larger than ``maxHeaderBytes`` followed by `{`.
    public static func looksLikeSafetensors(_ head: [UInt8]) -> Bool {
        guard head.count >= 9, head[8] == UInt8(ascii: "{") else { return false }
        var n: UInt64 = 0
        for i in 0..<8 { n |= UInt64(head[i]) << (8 * UInt64(i)) }
        return n >= 2 && n <= UInt64(maxHeaderBytes)
    }
}

/// One tensor of a ``SafetensorsFile``: bytes `[begin, end)` of the data buffer.
public struct SafetensorsTensor: Equatable, Sendable {
    public let name: String
    public let dtype: SafetensorsDType
    public let shape: [Int]
    public let begin: Int
    public let end: Int
    /// Product of the shape (1 for a scalar), checked against overflow when the file was read.
    public var elementCount: Int { shape.reduce(1, *) }
}

/// The dtypes the reader knows (the safetensors specification's names).
public enum SafetensorsDType: String, CaseIterable, Sendable {
    case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
    case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8"
    case u64 = "U64", u32 = "U32", u16 = "U16", u8 = "U8"
    case bool = "BOOL"
    case f8e4m3 = "F8_E4M3", f8e5m2 = "F8_E5M2"

    public var itemSize: Int {
        switch self {
        case .f64, .i64, .u64: return 8
        case .f32, .i32, .u32: return 4
        case .f16, .bf16, .i16, .u16: return 2
        case .i8, .u8, .bool, .f8e4m3, .f8e5m2: return 1
        }
    }

    /// Whether ``SafetensorsFile/values(_:)`` converts it (the floating-point weight types).
    public var isConvertible: Bool { [.f64, .f32, .f16, .bf16].contains(self) }
}

/// Which safetensors rule a file breaks (the suffix of its `convert.safetensors_*` code).
public enum SafetensorsProblem: String, CaseIterable, Sendable {
    case truncated
    case headerTooLarge = "header_too_large"
    case json
    case header
    case metadata
    case name
    case dtype
    case shape
    case offsets
    case sizeMismatch = "size_mismatch"
    case overlap
    case gap
    case trailingBytes = "trailing_bytes"
}

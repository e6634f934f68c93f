/// A dense, C-ordered array as stored in one `.npy` member: dtype, shape and the raw
/// little-endian element bytes.
///
/// The byte buffer is the unit of integrity: its SHA-256 is what the manifest records, so a numpy
/// user can check `hashlib.sha256(a.tobytes()).hexdigest()` (on a little-endian machine).
public struct NDArray: Equatable, Sendable {
    public let dtype: DType
    /// Dimensions; `[]` is a scalar (one element), a zero dimension is an empty array.
    public let shape: [Int]
    /// `elementCount * dtype.itemSize` bytes, little-endian, C order.
    public let bytes: [UInt8]

    /// Number of elements (product of the shape; 1 for a scalar).
    public var elementCount: Int { shape.reduce(1, *) }

    /// Wraps raw bytes. Precondition: the byte count matches the shape (checked).
    public init(dtype: DType, shape: [Int], bytes: [UInt8]) throws {
        guard let count = NDArray.checkedElementCount(shape) else {
            throw L2ZError.invalidShape(member: "(in memory)", reason: "shape \(shape) has a negative dimension or overflows")
        }
        let (size, overflow) = count.multipliedReportingOverflow(by: dtype.itemSize)
        guard !overflow, size == bytes.count else {
            throw L2ZError.invalidShape(member: "(in memory)", reason: "shape \(shape) with dtype \(dtype.rawValue) does not match \(bytes.count) bytes")
        }
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    /// A float64 array.
    public init(shape: [Int], doubles: [Double]) throws {
        var raw = [UInt8](repeating: 0, count: doubles.count * 8)
        raw.withUnsafeMutableBytes { dst in
            for (i, d) in doubles.enumerated() { dst.storeBytes(of: d.bitPattern.littleEndian, toByteOffset: i * 8, as: UInt64.self) }
        }
        try self.init(dtype: .float64, shape: shape, bytes: raw)
    }

    /// A float32 array.
    public init(shape: [Int], floats: [Float]) throws {
        var raw = [UInt8](repeating: 0, count: floats.count * 4)
        raw.withUnsafeMutableBytes { dst in
            for (i, f) in floats.enumerated() { dst.storeBytes(of: f.bitPattern.littleEndian, toByteOffset: i * 4, as: UInt32.self) }
        }
        try self.init(dtype: .float32, shape: shape, bytes: raw)
    }

    /// An int64 array.
    public init(shape: [Int], int64s: [Int64]) throws {
        var raw = [UInt8](repeating: 0, count: int64s.count * 8)
        raw.withUnsafeMutableBytes { dst in
            for (i, v) in int64s.enumerated() { dst.storeBytes(of: v.littleEndian, toByteOffset: i * 8, as: Int64.self) }
        }
        try self.init(dtype: .int64, shape: shape, bytes: raw)
    }

    /// An int32 array.
    public init(shape: [Int], int32s: [Int32]) throws {
        var raw = [UInt8](repeating: 0, count: int32s.count * 4)
        raw.withUnsafeMutableBytes { dst in
            for (i, v) in int32s.enumerated() { dst.storeBytes(of: v.littleEndian, toByteOffset: i * 4, as: Int32.self) }
        }
        try self.init(dtype: .int32, shape: shape, bytes: raw)
    }

    /// A uint8 array.
    public init(shape: [Int], uint8s: [UInt8]) throws {
        try self.init(dtype: .uint8, shape: shape, bytes: uint8s)
    }

    /// A bool array (one byte per element, 0 or 1).
    public init(shape: [Int], bools: [Bool]) throws {
        try self.init(dtype: .bool, shape: shape, bytes: bools.map { $0 ? 1 : 0 })
    }

    /// The elements converted to Double (exact for every dtype except int64 beyond 2^53).
    public func doubles() -> [Double] {
        let n = elementCount
        return bytes.withUnsafeBytes { src -> [Double] in
            switch dtype {
            case .float64: return (0..<n).map { Double(bitPattern: UInt64(littleEndian: src.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self))) }
            case .float32: return (0..<n).map { Double(Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)))) }
            case .int64: return (0..<n).map { Double(Int64(littleEndian: src.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self))) }
            case .int32: return (0..<n).map { Double(Int32(littleEndian: src.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self))) }
            case .uint8, .bool: return (0..<n).map { Double(src[$0]) }
            }
        }
    }

    /// Flat indices of NaN or infinite elements (empty for integer dtypes).
    public func nonFiniteIndices() -> [Int] {
        guard dtype.isFloatingPoint else { return [] }
        return doubles().enumerated().filter { !$0.element.isFinite }.map(\.offset)
    }

    /// Product of dimensions with overflow detection; nil on a negative dimension or overflow.
    public static func checkedElementCount(_ shape: [Int]) -> Int? {
        var count = 1
        for d in shape {
            guard d >= 0 else { return nil }
            let (p, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow else { return nil }
            count = p
        }
        return count
    }
}

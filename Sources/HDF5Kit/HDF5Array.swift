/// A dataset's contents: element type, shape and the elements in C (row-major) order.
///
/// `raw` holds the elements in the machine's byte order, `dtype.byteSize` bytes each, exactly as
/// read (no rounding). ``doubles`` converts every element to `Double`: exact for all types except
/// 64-bit integers beyond 2^53 in magnitude, which round to the nearest double. ``int64s`` is the
/// exact integer view. Shape `[]` is a scalar (one element); a zero in the shape means no elements.
public struct HDF5Array: Equatable, Sendable {
    /// Element type.
    public let dtype: HDF5DType
    /// Dimensions, outermost first; `[]` for a scalar.
    public let shape: [Int]
    /// `count * dtype.byteSize` bytes, native byte order, C order.
    public let raw: [UInt8]

    /// Wraps raw native-order bytes. Returns nil unless `raw.count == product(shape) * dtype.byteSize`.
    public init?(dtype: HDF5DType, shape: [Int], raw: [UInt8]) {
        guard let count = HDF5Array.elementCount(shape) else { return nil }
        let bytes = count.multipliedReportingOverflow(by: dtype.byteSize)
        guard !bytes.overflow, bytes.partialValue == raw.count else { return nil }
        self.dtype = dtype
        self.shape = shape
        self.raw = raw
    }

    /// Number of elements: the product of `shape` (1 for a scalar).
    public var count: Int { raw.count / dtype.byteSize }

    /// Every element converted to Double (see the type's documentation for what is exact).
    public var doubles: [Double] {
        raw.withUnsafeBytes { bytes -> [Double] in
            switch dtype {
            case .float64: return Array(bytes.bindMemory(to: Double.self))
            case .float32: return bytes.bindMemory(to: Float.self).map { Double($0) }
            case .int64: return bytes.bindMemory(to: Int64.self).map { Double($0) }
            case .int32: return bytes.bindMemory(to: Int32.self).map { Double($0) }
            case .int16: return bytes.bindMemory(to: Int16.self).map { Double($0) }
            case .int8: return bytes.bindMemory(to: Int8.self).map { Double($0) }
            case .uint64: return bytes.bindMemory(to: UInt64.self).map { Double($0) }
            case .uint32: return bytes.bindMemory(to: UInt32.self).map { Double($0) }
            case .uint16: return bytes.bindMemory(to: UInt16.self).map { Double($0) }
            case .uint8, .bool: return bytes.bindMemory(to: UInt8.self).map { Double($0) }
            }
        }
    }

    /// Every element as Float: float32 data exactly, everything else rounded to nearest.
    public var floats: [Float] {
        if dtype == .float32 { return raw.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) } }
        return doubles.map { Float($0) }
    }

    /// Exact integer values for integer and bool data; nil for floating-point data and for uint64
    /// data holding a value above `Int64.max`.
    public var int64s: [Int64]? {
        raw.withUnsafeBytes { bytes -> [Int64]? in
            switch dtype {
            case .float64, .float32: return nil
            case .int64: return Array(bytes.bindMemory(to: Int64.self))
            case .int32: return bytes.bindMemory(to: Int32.self).map { Int64($0) }
            case .int16: return bytes.bindMemory(to: Int16.self).map { Int64($0) }
            case .int8: return bytes.bindMemory(to: Int8.self).map { Int64($0) }
            case .uint64:
                let values = bytes.bindMemory(to: UInt64.self)
                guard values.allSatisfy({ $0 <= UInt64(Int64.max) }) else { return nil }
                return values.map { Int64($0) }
            case .uint32: return bytes.bindMemory(to: UInt32.self).map { Int64($0) }
            case .uint16: return bytes.bindMemory(to: UInt16.self).map { Int64($0) }
            case .uint8, .bool: return bytes.bindMemory(to: UInt8.self).map { Int64($0) }
            }
        }
    }

    /// Product of `shape`, or nil when a dimension is negative or the product overflows `Int`.
    static func elementCount(_ shape: [Int]) -> Int? {
        var count = 1
        for dim in shape {
            guard dim >= 0 else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            guard !overflow else { return nil }
            count = product
        }
        return count
    }
}

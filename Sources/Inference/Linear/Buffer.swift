/// A fixed-size, zero-initialized, manually managed array of Doubles: the workspace type of the
/// hot paths (no copy-on-write checks, no reallocation inside trajectory loops).
public final class Buffer {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Double>

    public init(_ count: Int) {
        self.count = count
        pointer = UnsafeMutablePointer<Double>.allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    public convenience init(_ values: [Double]) {
        self.init(values.count)
        values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: values.count) }
    }

    deinit { pointer.deallocate() }

    public var array: [Double] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    @inline(__always) public subscript(i: Int) -> Double {
        get { pointer[i] }
        set { pointer[i] = newValue }
    }
}

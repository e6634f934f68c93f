/// A fixed-size float buffer with a stable address (the float32 twin of ``Buffer``).
public final class FloatBuffer {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>

    public init(_ count: Int) {
        self.count = count
        pointer = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    /// The values rounded to float (round to nearest).
    public convenience init(_ values: [Double]) {
        self.init(values.count)
        for i in 0..<values.count { pointer[i] = Float(values[i]) }
    }

    deinit { pointer.deallocate() }

    public var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
}

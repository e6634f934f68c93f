import ModelFormat

/// All trainable parameters in one flat Float64 vector with named slices, so the optimizer,
/// gradient clipping and checkpoints treat them uniformly. Names are the canonical `.l2z` array
/// names, except the step sizes, which are trained as `log_eps_x` / `log_eps_v` (so they stay
/// positive) and exported as `eps_x = exp(log_eps_x)` with the raw parametrization.
public struct ParameterStore: Sendable, Equatable {
    public struct Slice: Sendable, Equatable {
        public let name: String
        public let shape: [Int]
        public let offset: Int
        public var count: Int { shape.reduce(1, *) }
        public var range: Range<Int> { offset..<(offset + count) }
    }

    public private(set) var slices: [Slice] = []
    private var index: [String: Int] = [:]
    public var values: [Double] = []

    public init() {}

    public mutating func add(_ name: String, shape: [Int], values v: [Double]) {
        precondition(index[name] == nil, "duplicate parameter \(name)")
        precondition(v.count == shape.reduce(1, *), "parameter \(name) size")
        index[name] = slices.count
        slices.append(Slice(name: name, shape: shape, offset: values.count))
        values += v
    }

    public func slice(_ name: String) -> Slice {
        guard let i = index[name] else { preconditionFailure("no parameter \(name)") }
        return slices[i]
    }

    public func contains(_ name: String) -> Bool { index[name] != nil }

    public subscript(name: String) -> ArraySlice<Double> { values[slice(name).range] }

    /// Offset of a parameter in the flat vector.
    public func offset(_ name: String) -> Int { slice(name).offset }
}

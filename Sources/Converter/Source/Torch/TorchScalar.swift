import Foundation

/// A single number, flag or string of a checkpoint dict (a step counter, a loss, a learning rate,
/// a note): a plain Python `int`, `float`, `bool` or `str` entry, or a numpy scalar of one of the
/// dtypes ``NumpyPickle`` decodes. Read as data, never by running a reconstructor.
public struct TorchScalar: Sendable, Equatable {
    public enum Value: Sendable, Equatable {
        case int(Int64)
        /// Exact: a numpy float32 is widened to Double without rounding.
        case float(Double)
        case bool(Bool)
        case string(String)
    }

    /// Dotted path of dict keys (`loss`, `model_state_dict.bn.momentum` never: only non-tensor entries).
    public var path: String
    public var value: Value
    /// `int`, `float`, `bool`, `str` (Python), or `numpy.float64`, `numpy.float32`, `numpy.int64`,
    /// `numpy.int32`, `numpy.bool`.
    public var kind: String

    public init(path: String, value: Value, kind: String) {
        self.path = path
        self.value = value
        self.kind = kind
    }

    /// The value as Python's `repr` writes it for ints, bools and finite floats (shortest
    /// round-trip digits; `nan`, `inf`, `-inf`), strings quoted and escaped.
    public var text: String {
        switch value {
        case let .int(n): return String(n)
        case let .bool(b): return b ? "True" : "False"
        case let .string(s): return s.debugDescription
        case let .float(d):
            if d.isNaN { return "nan" }
            if d.isInfinite { return d < 0 ? "-inf" : "inf" }
            return "\(d)"
        }
    }
}

/// Requests `compare` refuses (usage errors, exit 64).
public enum ComparisonError: Error, CustomStringConvertible, Equatable {
    /// The model's target has no topological charge (a Gaussian mixture).
    case unsupportedTarget(String)
    /// An option outside its range (the option and why).
    case invalidOption(name: String, reason: String)

    public var code: String {
        switch self {
        case .unsupportedTarget: return "compare.unsupported_target"
        case .invalidOption: return "compare.invalid_option"
        }
    }

    public var description: String {
        switch self {
        case let .unsupportedTarget(text): return "[\(code)] \(text)"
        case let .invalidOption(name, reason): return "[\(code)] \(name): \(reason)"
        }
    }
}

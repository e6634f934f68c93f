/// Why flow training cannot start or a flow cannot be loaded (one line each).
public enum FlowTrainerError: Error, Equatable, CustomStringConvertible {
    /// A training setting that cannot be used.
    case invalid(String)
    /// A `.l2z` model the trainer's flow cannot take (another family, a missing or misshapen array).
    case model(String)
    public var description: String {
        switch self {
        case .invalid(let why): return "invalid flow training settings: \(why)"
        case .model(let why): return "cannot train this flow model: \(why)"
        }
    }
}

/// A flow training setting that cannot be used (one line).
public enum FlowTrainerError: Error, Equatable, CustomStringConvertible {
    case invalid(String)
    public var description: String {
        switch self { case .invalid(let why): return "invalid flow training settings: \(why)" }
    }
}

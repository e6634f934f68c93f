/// Why a `.l2z` model cannot be loaded into the trainer's flow (one line): another family, a
/// missing or misshapen array. Settings errors are `TrainingConfig.Invalid`.
public enum FlowTrainerError: Error, Equatable, CustomStringConvertible {
    case model(String)
    public var description: String {
        switch self { case .model(let why): return "[train.unsupported] cannot train this flow model: \(why)" }
    }
}

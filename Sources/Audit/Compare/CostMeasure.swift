/// What a sampler's cost per independent sample of Q is counted in (``CostGain``): trajectories,
/// force evaluations, or process CPU seconds.
public enum CostMeasure: String, CaseIterable, Sendable {
    case trajectory
    case forceEvaluation = "force_evaluation"
    case cpuSecond = "cpu_second"

    /// "per trajectory", "per force evaluation", "per CPU-second".
    public var phrase: String {
        switch self {
        case .trajectory: return "per trajectory"
        case .forceEvaluation: return "per force evaluation"
        case .cpuSecond: return "per CPU-second"
        }
    }
}

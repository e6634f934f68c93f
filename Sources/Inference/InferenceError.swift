import ModelFormat

/// Failures of the runtime, each one line naming what was wrong and how to fix it.
public enum InferenceError: Error, Equatable, CustomStringConvertible {
    case linearXScaleOnCircle(alpha: Double)
    case invalidOption(name: String, reason: String)
    case stepPlan(String)
    case probeMismatch(array: String, maxDifference: Double, tolerance: String, index: Int)
    case modelTargetMismatch(String)
    case lapack(String)
    case io(path: String, reason: String)
    /// The model a saved run names (params.json) is not where it says.
    case modelMissing(path: String, reason: String)
    /// A request whose estimated memory exceeds the limit (refused before allocating).
    case tooLarge(request: String, estimateBytes: Double, limitBytes: Double)

    public var code: String {
        switch self {
        case .linearXScaleOnCircle: return "run.linear_x_scale"
        case .invalidOption: return "run.invalid_option"
        case .stepPlan: return "run.step_mapping"
        case .probeMismatch: return "probe.mismatch"
        case .modelTargetMismatch: return "run.model_target_mismatch"
        case .lapack: return "run.lapack"
        case .io: return "io.failure"
        case .modelMissing: return "run.model_missing"
        case .tooLarge: return "run.too_large"
        }
    }

    /// True when the fix is a different command line (exit status 64), false for bad data.
    public var isUsageError: Bool {
        switch self {
        case .linearXScaleOnCircle, .invalidOption, .stepPlan, .modelTargetMismatch, .tooLarge: return true
        default: return false
        }
    }

    public var description: String {
        let message: String
        switch self {
        case let .linearXScaleOnCircle(alpha):
            message = "x-scale net weight \(alpha) is not allowed on this model: its x update is linear, and scaling an angle then wrapping it is not a bijection of the circle (the sampler would be biased); set the x-scale weight to 0 or use a model with the non-compact projection (x_update \"ncp\")"
        case let .invalidOption(name, reason): message = "\(name): \(reason)"
        case let .stepPlan(text): message = text
        case let .probeMismatch(array, diff, tol, index):
            message = "stored probe \(array) does not reproduce: max difference \(diff) at flat index \(index) exceeds the tolerance \(tol); the weights do not compute what the producer computed"
        case let .modelTargetMismatch(text): message = text
        case let .lapack(text): message = "LAPACK failed: \(text)"
        case let .io(path, reason): message = "\(path): \(reason)"
        case let .modelMissing(path, reason): message = "model \(String(reflecting: path)): \(reason)"
        case let .tooLarge(request, estimate, limit):
            message = "\(request) needs an estimated \(MemoryBudget.format(estimate)) of memory, more than the limit of \(MemoryBudget.format(limit)); use fewer chains, trajectories or a smaller lattice, or raise --max-memory if the machine has the memory"
        }
        return "[\(code)] \(message)"
    }
}

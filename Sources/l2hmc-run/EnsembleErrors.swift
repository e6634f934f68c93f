import CLISupport
import Ensemble

extension EnsembleError: ReportableError {
    public var report: String { description }
    public var exitStatus: Int32 { isUsageError ? ToolFailure.usage : ToolFailure.badData }
}

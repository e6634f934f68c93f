import CLISupport
import HTMLReport
import Inference

// The shared CLI plumbing under the names every file of this tool uses (no file needs to import
// CLISupport for them).
typealias UsageError = CLISupport.UsageError
typealias Console = CLISupport.Console
typealias Interrupt = CLISupport.Interrupt

extension ReportError: ReportableError {
    public var report: String { description }
    public var exitStatus: Int32 { ToolFailure.badData }
}

extension InferenceError: ReportableError {
    public var report: String { description }
    public var exitStatus: Int32 { isUsageError ? ToolFailure.usage : ToolFailure.badData }
}

import CLISupport
import Converter

// The shared CLI plumbing under the names every file of this tool uses.
typealias Console = CLISupport.Console
typealias Interrupt = CLISupport.Interrupt

extension ConvertError: ReportableError {
    public var report: String { description }
    public var exitStatus: Int32 { isUsageError ? ToolFailure.usage : ToolFailure.badData }
}

import CLISupport
import HTMLReport
import Trainer

// The shared CLI plumbing under the names every file of this tool uses.
typealias Console = CLISupport.Console
typealias Interrupt = CLISupport.Interrupt

extension TrainingConfig.Invalid: ReportableError {
    public var report: String { description }
    public var exitStatus: Int32 { ToolFailure.usage }
}

extension TrainerModel.Failure: ReportableError {
    public var report: String { description }
    public var exitStatus: Int32 { ToolFailure.usage }
}

extension OutputError: ReportableError {
    public var report: String { description }
    public var exitStatus: Int32 { ToolFailure.badData }
}

extension ReportError: ReportableError {
    public var report: String { description }
    public var exitStatus: Int32 { ToolFailure.badData }
}

/// A failed collective. `code` is stable: `mpi.failure` (an MPI call returned an error; the
/// message names the call and carries MPI's error string), `mpi.limit` (a payload beyond MPI's
/// `int` element counts), `mpi.init` (MPI could not be initialised with the thread support the
/// tools need, or was already finalised).
public struct DistributedError: Error, Equatable, CustomStringConvertible {
    public let code: String
    public let message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    /// `[code] message`, the form of every tool's error line.
    public var description: String { "[\(code)] \(message)" }
}

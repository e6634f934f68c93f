import CMPI
import CMPIShim
#if canImport(Glibc)
import Glibc
#endif

/// The world of an `mpirun` launch (MPI_COMM_WORLD), with MPI_ERRORS_RETURN so that a failed
/// call becomes a thrown ``DistributedError`` instead of Open MPI's default abort of the job.
/// Created once per process by ``ProcessGroups/current()`` (MPI can be initialised only once),
/// on the main thread, which is then the only thread that may call MPI (MPI_THREAD_FUNNELED).
///
/// Byte collectives send their lengths first (as 64-bit integers), then the payload as MPI_BYTE
/// with `int` counts and displacements: one payload, and the sum of an `allGather` or `gather`,
/// must stay below 2^31 bytes (else `mpi.limit`).
public final class MPIProcessGroup: ProcessGroup {
    public let rank: Int
    public let size: Int
    private let comm: MPI_Comm

    nonisolated(unsafe) private static var shared: MPIProcessGroup?

    /// Whether MPI_Init (of any kind) has been called in this process; MPI_Initialized is one of
    /// the few calls allowed before it. A plain run keeps this false.
    public static var isInitialized: Bool {
        var flag: Int32 = 0
        _ = MPI_Initialized(&flag)
        return flag != 0
    }

    /// Whether MPI_Finalize has been called.
    public static var isFinalized: Bool {
        var flag: Int32 = 0
        _ = MPI_Finalized(&flag)
        return flag != 0
    }

    private init(comm: MPI_Comm) throws {
        self.comm = comm
        var r: Int32 = 0, s: Int32 = 0
        try MPIProcessGroup.check(MPI_Comm_rank(comm, &r), "MPI_Comm_rank")
        try MPIProcessGroup.check(MPI_Comm_size(comm, &s), "MPI_Comm_size")
        rank = Int(r)
        size = Int(s)
    }

    /// The world group: initialises MPI with MPI_THREAD_FUNNELED on the first call, returns the
    /// same group afterwards. MPI_Finalize is deliberately not registered with `atexit`: it
    /// waits for every rank, so a rank exiting on an error while the others wait in a collective
    /// would hang for ever (measured, docs/DISTRIBUTED.md). Clean ends call ``finalize()``; an
    /// error exit without it makes `mpirun` end the other ranks.
    static func world() throws -> MPIProcessGroup {
        if let shared { return shared }
        if isFinalized { throw DistributedError(code: "mpi.init", message: "MPI was already finalised in this process") }
        if !isInitialized {
            var provided: Int32 = 0
            let required = Int32(MPI_THREAD_FUNNELED)
            try check(MPI_Init_thread(nil, nil, required, &provided), "MPI_Init_thread")
            guard provided >= required else {
                throw DistributedError(code: "mpi.init", message: "MPI provides thread level \(provided), the tools need MPI_THREAD_FUNNELED (\(required))")
            }
        }
        let comm: MPI_Comm = cmpi_comm_world()
        try check(MPI_Comm_set_errhandler(comm, cmpi_errors_return()), "MPI_Comm_set_errhandler")
        let group = try MPIProcessGroup(comm: comm)
        shared = group
        return group
    }

    public func finalize() throws {
        if MPIProcessGroup.isInitialized && !MPIProcessGroup.isFinalized {
            try MPIProcessGroup.check(MPI_Finalize(), "MPI_Finalize")
        }
    }

    public func barrier() throws {
        try Self.check(MPI_Barrier(comm), "MPI_Barrier")
    }

    public func broadcast(_ bytes: [UInt8], from root: Int) throws -> [UInt8] {
        try checkRoot(root)
        var count = Int64(rank == root ? bytes.count : 0)
        try Self.check(MPI_Bcast(&count, 1, cmpi_int64(), Int32(root), comm), "MPI_Bcast")
        let n = try Self.intCount(count, "broadcast")
        var buffer = rank == root ? bytes : [UInt8](repeating: 0, count: Int(n))
        if n > 0 {
            let comm = self.comm
            try buffer.withUnsafeMutableBytes {
                try Self.check(MPI_Bcast($0.baseAddress, n, cmpi_byte(), Int32(root), comm), "MPI_Bcast")
            }
        }
        return buffer
    }

    public func allGather(_ bytes: [UInt8]) throws -> [[UInt8]] {
        var mine = Int64(bytes.count)
        var counts = [Int64](repeating: 0, count: size)
        try Self.check(MPI_Allgather(&mine, 1, cmpi_int64(), &counts, 1, cmpi_int64(), comm), "MPI_Allgather")
        let layout = try Self.layout(counts, "allGather")
        // A buffer is never empty, so that no null pointer reaches MPI (the counts say 0).
        let send = bytes.isEmpty ? [UInt8](repeating: 0, count: 1) : bytes
        var received = [UInt8](repeating: 0, count: max(layout.total, 1))
        let comm = self.comm
        try send.withUnsafeBytes { s in
            try received.withUnsafeMutableBytes { r in
                try Self.check(MPI_Allgatherv(s.baseAddress, Int32(bytes.count), cmpi_byte(), r.baseAddress,
                                              layout.counts, layout.displacements, cmpi_byte(), comm), "MPI_Allgatherv")
            }
        }
        return Self.split(received, layout)
    }

    public func gather(_ bytes: [UInt8], to root: Int) throws -> [[UInt8]]? {
        try checkRoot(root)
        var mine = Int64(bytes.count)
        var counts = [Int64](repeating: 0, count: size)
        try Self.check(MPI_Gather(&mine, 1, cmpi_int64(), &counts, 1, cmpi_int64(), Int32(root), comm), "MPI_Gather")
        // Only the root knows the layout; the others pass placeholders MPI ignores.
        let layout = try rank == root ? Self.layout(counts, "gather") : Layout(counts: [Int32](repeating: 0, count: size), displacements: [Int32](repeating: 0, count: size), total: 0)
        let send = bytes.isEmpty ? [UInt8](repeating: 0, count: 1) : bytes
        var received = [UInt8](repeating: 0, count: max(layout.total, 1))
        let comm = self.comm
        try send.withUnsafeBytes { s in
            try received.withUnsafeMutableBytes { r in
                try Self.check(MPI_Gatherv(s.baseAddress, Int32(bytes.count), cmpi_byte(), r.baseAddress,
                                           layout.counts, layout.displacements, cmpi_byte(), Int32(root), comm), "MPI_Gatherv")
            }
        }
        return rank == root ? Self.split(received, layout) : nil
    }

    public func allReduceMax(_ value: Int) throws -> Int {
        var mine = Int64(value)
        var result: Int64 = 0
        try Self.check(MPI_Allreduce(&mine, &result, 1, cmpi_int64(), cmpi_max(), comm), "MPI_Allreduce")
        return Int(result)
    }

    public func abort(code: Int32, message: String) -> Never {
        ErrorLine.write(message)
        fflush(stdout)
        _ = MPI_Abort(comm, code)
        _exit(code)   // MPI_Abort does not return; this only satisfies Never.
    }

    // MARK: helpers

    struct Layout {
        let counts: [Int32]
        let displacements: [Int32]
        let total: Int
    }


    static func intCount(_ count: Int64, _ what: String) throws -> Int32 {
        guard count >= 0 && count <= Int64(Int32.max) else {
            throw DistributedError(code: "mpi.limit", message: "\(what) of \(count) bytes exceeds MPI's limit of \(Int32.max) bytes")
        }
        return Int32(count)
    }

    static func layout(_ counts: [Int64], _ what: String) throws -> Layout {
        var displacements: [Int32] = []
        var total: Int64 = 0
        for c in counts {
            _ = try intCount(c, what)
            displacements.append(Int32(total))
            total += c
            _ = try intCount(total, what)
        }
        return Layout(counts: counts.map { Int32($0) }, displacements: displacements, total: Int(total))
    }

    private static func split(_ buffer: [UInt8], _ layout: Layout) -> [[UInt8]] {
        zip(layout.counts, layout.displacements).map { count, offset in
            Array(buffer[Int(offset) ..< Int(offset) + Int(count)])
        }
    }

    static func check(_ status: Int32, _ call: String) throws {
        guard status != Int32(MPI_SUCCESS) else { return }
        throw DistributedError(code: "mpi.failure", message: "\(call) failed: \(errorDescription(status))")
    }

    /// MPI's text for an error code (MPI_Error_string, e.g. "MPI_ERR_COMM: invalid
    /// communicator") while MPI is initialised; "MPI error N" otherwise (Open MPI 4.1 aborts the
    /// process when MPI_Error_string is called before MPI_Init).
    public static func errorDescription(_ code: Int32) -> String {
        guard isInitialized && !isFinalized else { return "MPI error \(code)" }
        var text = [CChar](repeating: 0, count: Int(MPI_MAX_ERROR_STRING) + 1)
        var length: Int32 = 0
        guard MPI_Error_string(code, &text, &length) == Int32(MPI_SUCCESS), length > 0, length < Int32(text.count) else { return "MPI error \(code)" }
        return String(decoding: text.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

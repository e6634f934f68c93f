// l2hmc-mpi-selftest: exercises DistributedKit's process group, alone or under `mpirun`.
// Not a user tool; DistributedTests runs it. One mode per run:
//   info         each rank prints "rank R size S mpi-initialized B launched B"
//   collectives  every collective with checks on known payloads; "rank R of S: ok N checks"
//   stop         the stop-flag loop: a flag allreduced (max) every iteration; SIGTERM or SIGINT
//                to any rank sets its flag; every rank prints the iteration it stopped after
//                (arguments: [exit status after a stop, default 0])
//   bench        rank 0 prints microseconds per barrier, 8-byte allGather, allReduceMax
//   exit         rank 1 exits (_exit) with status 1 (or argument) without finalising while the others
//                wait in a barrier (to observe mpirun; docs/DISTRIBUTED.md)
//   kill         rank 1 sends itself SIGKILL while the others wait in a barrier
//   abort        rank 1 calls abort(code: 3) while the others wait in a barrier
import DistributedKit
#if canImport(Glibc)
import Glibc
#endif

func say(_ line: String) {
    print(line)
    fflush(stdout)
}

enum StopSignal {
    nonisolated(unsafe) static var number: sig_atomic_t = 0
    static func install() {
        for s in [SIGINT, SIGTERM] { signal(s) { StopSignal.number = $0 } }
    }
}

struct Checks {
    let rank: Int
    var count = 0
    var failures: [String] = []
    mutating func expect(_ condition: Bool, _ what: @autoclosure () -> String) {
        count += 1
        if !condition { failures.append(what()) }
    }
}

/// A payload that tells who sent it and for which test: byte i of rank r's message in test t.
func pattern(rank r: Int, test t: Int, length: Int) -> [UInt8] {
    (0 ..< length).map { UInt8(truncatingIfNeeded: r &* 31 &+ t &* 101 &+ $0 &* 7 &+ ($0 >> 8)) }
}

func collectives(_ g: ProcessGroup) throws -> Checks {
    var c = Checks(rank: g.rank)
    let (rank, size) = (g.rank, g.size)
    c.expect(rank >= 0 && rank < size, "rank \(rank) outside 0..<\(size)")
    c.expect(g.isRoot == (rank == 0), "isRoot")
    if let s = getenv("OMPI_COMM_WORLD_SIZE").map({ String(cString: $0) }) { c.expect(s == String(size), "size \(size) but OMPI_COMM_WORLD_SIZE \(s)") }
    if let r = getenv("OMPI_COMM_WORLD_RANK").map({ String(cString: $0) }) { c.expect(r == String(rank), "rank \(rank) but OMPI_COMM_WORLD_RANK \(r)") }
    if g is MPIProcessGroup {
        // MPI's error text, as a failed call reports it (MPI_ERR_COMM is 5 in Open MPI's mpi.h).
        let text = MPIProcessGroup.errorDescription(5)
        c.expect(text == "MPI_ERR_COMM: invalid communicator", "error text \(text)")
    }
    try g.barrier()

    // broadcast from every root: lengths differ per root, one root sends nothing.
    for root in 0 ..< size {
        let length = root == 1 ? 0 : 3 + 5 * root
        let sent = rank == root ? pattern(rank: root, test: 1, length: length) : pattern(rank: rank, test: 9, length: 2)
        let got = try g.broadcast(sent, from: root)
        c.expect(got == pattern(rank: root, test: 1, length: length), "broadcast from \(root): \(got.count) bytes")
    }
    // A large broadcast (1 MiB).
    let big = try g.broadcast(rank == 0 ? pattern(rank: 0, test: 2, length: 1 << 20) : [], from: 0)
    c.expect(big == pattern(rank: 0, test: 2, length: 1 << 20), "1 MiB broadcast")

    // allGather with different lengths, one rank empty, in rank order.
    let lengthOf = { (r: Int) in r == 0 ? 0 : (r * 37) % 11 + 1 }
    let all = try g.allGather(pattern(rank: rank, test: 3, length: lengthOf(rank)))
    c.expect(all.count == size, "allGather count \(all.count)")
    for r in 0 ..< min(all.count, size) {
        c.expect(all[r] == pattern(rank: r, test: 3, length: lengthOf(r)), "allGather entry \(r)")
    }
    let allBig = try g.allGather(pattern(rank: rank, test: 4, length: 100_000 + rank))
    c.expect(allBig == (0 ..< size).map { pattern(rank: $0, test: 4, length: 100_000 + $0) }, "allGather 100 kB")
    let allEmpty = try g.allGather([])
    c.expect(allEmpty == [[UInt8]](repeating: [], count: size), "allGather of nothing")

    // gather to every root; nil elsewhere.
    for root in 0 ..< size {
        let got = try g.gather(pattern(rank: rank, test: 5 + root, length: rank + root), to: root)
        if rank == root {
            c.expect(got == (0 ..< size).map { pattern(rank: $0, test: 5 + root, length: $0 + root) }, "gather to \(root)")
        } else {
            c.expect(got == nil, "gather to \(root) returned data on rank \(rank)")
        }
    }

    // allReduceMax: exact integers, negatives, one rank's flag.
    c.expect(try g.allReduceMax(rank * 10 - 5) == (size - 1) * 10 - 5, "allReduceMax of rank*10-5")
    c.expect(try g.allReduceMax(-rank - 1) == -1, "allReduceMax of -rank-1")
    c.expect(try g.allReduceMax(rank == size - 1 ? 1 : 0) == 1, "stop flag from the last rank")
    c.expect(try g.allReduceMax(0) == 0, "no stop flag")
    c.expect(try g.allReduceMax(Int.min + rank) == Int.min + size - 1, "allReduceMax near Int.min (64-bit)")
    try g.barrier()
    return c
}

func stopLoop(_ g: ProcessGroup, status: Int32) throws -> Never {
    StopSignal.install()
    say("rank \(g.rank) pid \(getpid()) ready")
    try g.barrier()
    for iteration in 0 ..< 6000 {
        usleep(10_000)   // a unit of work (a trajectory)
        let local = StopSignal.number
        if try g.allReduceMax(local != 0 ? 1 : 0) != 0 {
            say("rank \(g.rank) stopped after iteration \(iteration) own signal \(local)")
            try g.finalize()
            exit(status)
        }
    }
    say("rank \(g.rank) was never stopped")
    try g.finalize()
    exit(2)
}

func bench(_ g: ProcessGroup) throws {
    func time(_ n: Int, _ body: () throws -> Void) throws -> Double {
        for _ in 0 ..< 100 { try body() }
        try g.barrier()
        var t0 = timespec(), t1 = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t0)
        for _ in 0 ..< n { try body() }
        clock_gettime(CLOCK_MONOTONIC, &t1)
        return (Double(t1.tv_sec - t0.tv_sec) * 1e9 + Double(t1.tv_nsec - t0.tv_nsec)) / Double(n) / 1000
    }
    let n = 5000
    let barrier = try time(n) { try g.barrier() }
    let gather = try time(n) { _ = try g.allGather([UInt8](repeating: 1, count: 8)) }
    let reduce = try time(n) { _ = try g.allReduceMax(g.rank) }
    let gather4k = try time(n) { _ = try g.allGather([UInt8](repeating: 1, count: 4096)) }
    if g.isRoot {
        say("size \(g.size): barrier \(fmt(barrier)) us, allGather 8 B \(fmt(gather)) us, allReduceMax \(fmt(reduce)) us, allGather 4 KiB \(fmt(gather4k)) us (mean of \(n))")
    }
}

func fmt(_ x: Double) -> String { String((x * 10).rounded() / 10) }

func run() throws {
    let arguments = Array(CommandLine.arguments.dropFirst())
    guard let mode = arguments.first else {
        say("usage: l2hmc-mpi-selftest info|collectives|stop [status]|bench|exit [status]|kill|abort")
        exit(64)
    }
    let g = try ProcessGroups.current()
    switch mode {
    case "info":
        say("rank \(g.rank) size \(g.size) mpi-initialized \(MPIProcessGroup.isInitialized) launched \(ProcessGroups.launchedByMPI)")
    case "collectives":
        let c = try collectives(g)
        if c.failures.isEmpty {
            say("rank \(g.rank) of \(g.size): ok \(c.count) checks")
        } else {
            say("rank \(g.rank) of \(g.size): FAILED \(c.failures.count) of \(c.count): " + c.failures.joined(separator: "; "))
            try g.finalize()
            exit(1)
        }
    case "stop":
        try stopLoop(g, status: arguments.count > 1 ? Int32(arguments[1]) ?? 0 : 0)
    case "bench":
        try bench(g)
    case "exit", "kill", "abort":
        say("rank \(g.rank) pid \(getpid()) ready")
        if g.rank == 1 {
            usleep(200_000)
            if mode == "exit" { _exit(arguments.count > 1 ? Int32(arguments[1]) ?? 1 : 1) }
            if mode == "kill" { kill(getpid(), SIGKILL) }
            g.abort(code: 3, message: "error: [selftest.abort] rank 1 aborts")
        }
        try g.barrier()
        say("rank \(g.rank) left the barrier")
    default:
        say("unknown mode \(mode)")
        exit(64)
    }
    try g.finalize()
}

do {
    try run()
} catch {
    fputs("error: \(error)\n", stderr)
    exit(1)
}

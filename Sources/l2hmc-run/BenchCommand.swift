import ArgumentParser
import Audit
import Foundation
import Inference
import ModelFormat
import CLISupport

/// `l2hmc-run bench`: the performance workloads W1-W4 of docs/RUNTIME.md, "Performance" (see ``Benchmark`` for the FLOP model).
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time fixed L2HMC workloads (random weights) against the machine's DGEMM rate.",
        discussion: """
            Workloads (beta 2, time input on, cos/sin x-input, NCP x update on U(1)):
              W1  U(1) 8x8, 64 chains, N_LF 5, shared networks, units [128, 128]
              W2  U(1) 16x16, 256 chains, N_LF 8, per-step networks, units [256, 256]
              W3  W2 with every dense layer at rank 16 (truncated SVD)
              W4  2D two-mode Gaussian mixture, 4096 chains, N_LF 10, units [64, 64]
              W5  (--local 8x8,16x16,...) a local model at each lattice against plain HMC with
                  the same N_LF, 1 thread (docs/RUNTIME.md, "Local networks at any lattice size")
            \(Benchmark.flopFormula).
            By default every workload runs at 1, 2, ... threads up to the cores this process may
            use: each thread runs whole tiles of chains with single-threaded GEMMs, as l2hmc-run
            does ('tiles' rows); above 1 thread each workload also runs as one tile with OpenBLAS's
            own threads inside every GEMM ('blas-threads' rows), the comparison behind that rule.
            Every 'tiles' row runs in float64 and in float32 (--precision; float32 rows are
            labelled "W2 f32"; 'blas-threads' rows are float64 only).
            """)

    @Option(help: "Run with this one thread count only (overrides --threads-list).")
    var threads: Int?

    @Option(name: .customLong("threads-list"), help: "Comma-separated thread counts to run (default 1 to the available cores).")
    var threadsList: String?

    @Option(help: "Chains per tile (default: each workload's l2hmc-run default, 32 or 128 by network size).")
    var tile: Int?

    @Flag(name: .customLong("no-blas-threads"), help: "Skip the 'blas-threads' comparison rows.")
    var noBLASThreads = false

    @Option(help: "Comma-separated workloads (W1,W2,W3,W4).")
    var workloads: String = "W1,W2,W3,W4"

    @Option(help: "Minimum wall-clock seconds per measurement (split into 3 rounds; the best round counts).")
    var seconds: Double = 2

    @Option(help: "Comma-separated network precisions to run each workload in (float64, float32); float32 rows print as \"W2 f32\".")
    var precision: String = "float64,float32"

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Option(help: "W5 instead of W1-W4: a local model at each of these comma-separated lattices (e.g. 8x8,16x16), 1 thread, against plain HMC with the same N_LF.")
    var local: String?

    @Option(help: "With --local: the local .l2z model (default: random weights, channels [16, 16], 3x3 kernels, N_LF 4, shared).")
    var model: String?

    @Option(help: "With --local: chains per measurement.")
    var chains = 16

    func run() throws {
        if let local {
            guard seconds > 0, seconds.isFinite else { throw ValidationError("--seconds must be > 0") }
            guard chains >= 1 else { throw ValidationError("--chains must be >= 1") }
            let lattices = try local.split(separator: ",").map { text -> (Int, Int) in
                let size = try LatticeSize.option(String(text).trimmingCharacters(in: .whitespaces))
                return (size.lt, size.lx)
            }
            let m = try model.map { try L2ZReader.read(path: $0).model } ?? LocalBench.defaultModel()
            let interactive = isatty(fileno(stderr)) != 0
            let rows = try LocalBench.run(model: m, lattices: lattices, chains: chains, seconds: seconds) { stage in
                if interactive { Console.error("bench: \(stage)...\n") }
            }
            print(LocalBench.table(rows))
            return
        }
        guard model == nil else { throw ValidationError("--model applies to --local (W5)") }
        let counts: [Int]
        if let threads { counts = [threads] } else if let threadsList {
            counts = try threadsList.split(separator: ",").map {
                guard let n = Int($0.trimmingCharacters(in: .whitespaces)), n >= 1 else {
                    throw ValidationError("--threads-list: \"\($0)\" is not a positive integer")
                }
                return n
            }
        } else {
            counts = Array(1...AvailableCores.count)
        }
        if let tile, tile < 1 { throw ValidationError("--tile must be >= 1 (got \(tile))") }
        guard !counts.isEmpty, counts.allSatisfy({ $0 >= 1 }) else { throw ValidationError("thread counts must be >= 1") }
        let chosen: [Benchmark.Workload] = try workloads.split(separator: ",").map {
            let name = $0.trimmingCharacters(in: .whitespaces)
            guard let w = Benchmark.Workload.named(name) else {
                throw ValidationError("--workloads: unknown workload \"\(name)\" (known: W1, W2, W3, W4)")
            }
            return w
        }
        let precisions: [NetworkPrecision] = try precision.split(separator: ",").map {
            let name = $0.trimmingCharacters(in: .whitespaces)
            guard let p = NetworkPrecision(rawValue: name) else { throw ValidationError("--precision: unknown precision \"\(name)\" (known: float64, float32)") }
            return p
        }
        guard !precisions.isEmpty else { throw ValidationError("--precision needs at least one of float64, float32") }
        guard seconds > 0, seconds.isFinite else { throw ValidationError("--seconds must be > 0") }
        let interactive = isatty(fileno(stderr)) != 0
        let report = try Benchmark.run(workloads: chosen, threadCounts: counts, tile: tile, seconds: seconds, compareBLASThreads: !noBLASThreads,
                                       precisions: precisions) { stage in
            if interactive { Console.error("bench: \(stage)...\n") }
        }
        print(json ? try Benchmark.json(report) : Benchmark.table(report))
    }
}

import ArgumentParser
import Audit
import Foundation
import Inference

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
            \(Benchmark.flopFormula).
            By default every workload runs with 1 and with 2 OpenBLAS threads, each in float64 and
            in float32 (--precision; float32 rows are labelled "W2 f32").
            """)

    @Option(help: "Run with this one OpenBLAS thread count only (overrides --threads-list).")
    var threads: Int?

    @Option(name: .customLong("threads-list"), help: "Comma-separated OpenBLAS thread counts to run.")
    var threadsList: String = "1,2"

    @Option(help: "Comma-separated workloads (W1,W2,W3,W4).")
    var workloads: String = "W1,W2,W3,W4"

    @Option(help: "Minimum wall-clock seconds per measurement (split into 3 rounds; the best round counts).")
    var seconds: Double = 2

    @Option(help: "Comma-separated network precisions to run each workload in (float64, float32); float32 rows print as \"W2 f32\".")
    var precision: String = "float64,float32"

    @Flag(help: "Print the report as JSON.")
    var json = false

    func run() throws {
        let counts: [Int]
        if let threads { counts = [threads] } else {
            counts = try threadsList.split(separator: ",").map {
                guard let n = Int($0.trimmingCharacters(in: .whitespaces)), n >= 1 else {
                    throw ValidationError("--threads-list: \"\($0)\" is not a positive integer")
                }
                return n
            }
        }
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
        let report = try Benchmark.run(workloads: chosen, threadCounts: counts, seconds: seconds, precisions: precisions) { stage in
            if interactive { Console.error("bench: \(stage)...\n") }
        }
        print(json ? try Benchmark.json(report) : Benchmark.table(report))
    }
}

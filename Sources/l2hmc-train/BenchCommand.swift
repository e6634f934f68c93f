import ArgumentParser
import CLISupport
import Foundation
import Trainer

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Training throughput on U(1) 8x8, 64 chains, N_LF 5, units [128, 128] (or the given flags), at 1 and 2 threads.",
        discussion: """
            Training steps/s at each of --thread-counts (default 1,2; counts above the number of \
            tiles are skipped), with the efficiency rate(N) / (N rate(1)); then, single-threaded, \
            the forward trajectories and the effective GFLOP/s. FLOPs: 2 x in x out per chain for \
            every dense layer of the four network calls per leapfrog step (local networks: \
            2 k^2 C_in C_out per site and convolution); a training step counts \
            3x (forward + two backward GEMMs per layer). BLAS is single-threaded: threads run \
            whole tiles.
            """)

    @Option(help: "Seconds per measurement.")
    var seconds = 3.0
    @Option(help: "Worker-thread counts to measure, comma-separated.")
    var threadCounts = "1,2"
    @OptionGroup var flags: ConfigFlags

    func run() throws {
        var config = TrainerBenchmark.standardConfig()
        var countsText = threadCounts
        for (k, v) in try flags.given() {
            if k == "threads" { countsText = v } else { try config.set(k, text: v) }  // --threads N: measure N only
        }
        let counts = countsText.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !counts.isEmpty, counts.allSatisfy({ $0 >= 1 && $0 <= TrainingConfig.maxThreads }) else {
            throw ValidationError("--thread-counts must be a comma-separated list of counts in 1...\(TrainingConfig.maxThreads) (got \(countsText))")
        }
        config.threads = 1
        try config.validate()
        let tiles = config.tiling.count
        print("workload    U(1) \(config.lattice[0])x\(config.lattice[1]), \(config.chains) chains in \(tiles) tile\(tiles == 1 ? "" : "s") of \(config.tile), N_LF \(config.nLF), \(config.networkKind == .local ? "local \(config.kernelSize)x\(config.kernelSize) channels \(config.channels)" : "units \(config.hiddenUnits)"); cores available \(max(1, ProcessInfo.processInfo.activeProcessorCount))")
        var base: Double?
        for t in counts {
            guard t <= tiles else { print("threads \(t)   skipped: more threads than the \(tiles) tile\(tiles == 1 ? "" : "s")"); continue }
            config.threads = t
            let rate = try TrainerBenchmark.stepsPerSecond(config: config, seconds: seconds)
            if t == 1 { base = rate }
            let efficiency = base.map { String(format: ", efficiency %.0f %%", 100 * rate / (Double(t) * $0)) } ?? ""
            print(String(format: "threads %-3d %.2f steps/s", t, rate) + efficiency)
        }
        config.threads = 1
        let r = try TrainerBenchmark.run(config: config, seconds: seconds)
        print(String(format: "training    %.2f steps/s, %.1f GFLOP/s effective (%.0f %% of DGEMM), 1 thread", r.stepsPerSecond, r.trainingGFLOPs, 100 * r.trainingGFLOPs / r.dgemmGFLOPs))
        print(String(format: "forward     %.1f chain-trajectories/s, %.1f GFLOP/s (%.0f %% of DGEMM)", r.forwardTrajectoriesPerSecond, r.forwardGFLOPs, 100 * r.forwardGFLOPs / r.dgemmGFLOPs))
        print(String(format: "ratio       a training step costs %.2fx its forward trajectories", r.stepOverForward))
        print(String(format: "dgemm       %.1f GFLOP/s (512x512, same run)", r.dgemmGFLOPs))
    }
}

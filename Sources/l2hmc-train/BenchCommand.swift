import ArgumentParser
import COpenBLAS
import Foundation
import Trainer

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Training throughput on U(1) 8x8, 64 chains, N_LF 5, units [128, 128] (or the given flags), single-threaded.",
        discussion: "FLOPs: 2 x in x out per chain for every dense layer of the four network calls per leapfrog step; a training step counts 3x (forward + two backward GEMMs per layer).")

    @Option(help: "Seconds per measurement.")
    var seconds = 3.0
    @Option(help: "OpenBLAS threads.")
    var threads = 1
    @OptionGroup var flags: ConfigFlags

    func run() throws {
        openblas_set_num_threads(Int32(threads))
        var config = TrainerBenchmark.standardConfig()
        for (k, v) in try flags.given() { try config.set(k, text: v) }
        let r = try TrainerBenchmark.run(config: config, seconds: seconds)
        print("workload    U(1) \(config.lattice[0])x\(config.lattice[1]), \(config.chains) chains, N_LF \(config.nLF), units \(config.hiddenUnits), threads \(threads)")
        print(String(format: "training    %.2f steps/s, %.1f GFLOP/s effective (%.0f %% of DGEMM)", r.stepsPerSecond, r.trainingGFLOPs, 100 * r.trainingGFLOPs / r.dgemmGFLOPs))
        print(String(format: "forward     %.1f chain-trajectories/s, %.1f GFLOP/s (%.0f %% of DGEMM)", r.forwardTrajectoriesPerSecond, r.forwardGFLOPs, 100 * r.forwardGFLOPs / r.dgemmGFLOPs))
        print(String(format: "ratio       a training step costs %.2fx its forward trajectories", r.stepOverForward))
        print(String(format: "dgemm       %.1f GFLOP/s (512x512, same run)", r.dgemmGFLOPs))
    }
}

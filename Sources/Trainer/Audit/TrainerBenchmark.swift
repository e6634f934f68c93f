import COpenBLAS
import Foundation
import ModelFormat

/// Training throughput: full training steps (forward, loss, backward, Adam, accept/reject)
/// against forward-only trajectories on the same batch, and the effective GFLOP/s of the dense
/// layers. FLOP model (the runtime benchmark's): 2 x in x out per chain for every dense layer of
/// the four network calls in each leapfrog step (local networks: 2 k^2 C_i C_{i+1} per site and
/// convolution, 2 x 2 C_L per site and head), time layer excluded; the backward pass is
/// counted as 2x the forward FLOPs (input and weight gradients), so a training step counts 3x.
public enum TrainerBenchmark {
    public struct Result: Sendable {
        public let stepsPerSecond: Double
        public let forwardTrajectoriesPerSecond: Double
        /// Time of a full training step divided by the time of its forward trajectories.
        public let stepOverForward: Double
        public let forwardGFLOPs: Double
        public let trainingGFLOPs: Double
        public let dgemmGFLOPs: Double
        public let flopsPerForward: Double
    }

    /// The benchmark configuration of issue #4: U(1) 8x8, 64 chains, N_LF 5, units [128, 128].
    public static func standardConfig() -> TrainingConfig {
        var c = TrainingConfig()
        c.lattice = [8, 8]; c.chains = 64; c.nLF = 5; c.hiddenUnits = [128, 128]; c.steps = 1_000_000
        return c
    }

    /// Training steps per second with `config` (its `threads` workers), after one warm-up step.
    public static func stepsPerSecond(config: TrainingConfig, seconds: Double) throws -> Double {
        let trainer = try L2HMCTrainer(config: config)
        trainer.trainStep()  // warm-up
        var steps = 0
        let start = Date()
        while Date().timeIntervalSince(start) < seconds || steps < 3 { trainer.trainStep(); steps += 1 }
        return Double(steps) / Date().timeIntervalSince(start)
    }

    public static func run(config: TrainingConfig, seconds: Double = 3) throws -> Result {
        let trainer = try L2HMCTrainer(config: config)
        let stepTime = 1 / (try stepsPerSecond(config: config, seconds: seconds))
        L2HMCTrainer.singleThreadedBLAS()
        var start: Date

        let dyn = trainer.model.dynamics()
        let n = trainer.model.spec.stateSize, c = config.chains
        var rng = SplitMix64(seed: 1)
        let x0 = Matrix(rows: c, cols: n, data: (0..<(c * n)).map { _ in rng.uniform() * 6 - 3 })
        let v0 = Matrix(rows: c, cols: n, data: (0..<(c * n)).map { _ in rng.normal() })
        var forwards = 0
        start = Date()
        while Date().timeIntervalSince(start) < seconds || forwards < 3 {
            _ = dyn.run(x0: x0, v0: v0, forward: true, params: trainer.model.params, scale: 2, weights: trainer.model.spec.netWeights)
            forwards += 1
        }
        let forwardTime = Date().timeIntervalSince(start) / Double(forwards)

        // Multiply-adds per chain per trajectory: four network calls per step.
        let macsPerStep: Int
        if let local = trainer.model.spec.network.kind.local {
            // Per site: every convolution (k^2 C_i C_{i+1}) and the three heads (C_L x 2).
            let c = [8] + config.channels, kk = local.kernelSize * local.kernelSize
            var perSite = 3 * 2 * c[c.count - 1]
            for i in 1..<c.count { perSite += kk * c[i - 1] * c[i] }
            macsPerStep = 4 * perSite * n / 2
        } else {
            let units = config.hiddenUnits
            func perNetwork(_ xWidth: Int) -> Int {
                var macs = xWidth * units[0] + n * units[0]
                for i in 1..<units.count { macs += units[i - 1] * units[i] }
                return macs + 3 * units[units.count - 1] * n  // validate() requires at least one layer
            }
            let xWidth = config.xInput.width(stateSize: n)
            macsPerStep = 2 * perNetwork(n) + 2 * perNetwork(xWidth)
        }
        let flops = 2.0 * Double(macsPerStep * config.nLF * c)
        return Result(stepsPerSecond: 1 / stepTime, forwardTrajectoriesPerSecond: Double(c) / forwardTime,
                      stepOverForward: stepTime / forwardTime, forwardGFLOPs: flops / forwardTime / 1e9,
                      trainingGFLOPs: 3 * flops / stepTime / 1e9, dgemmGFLOPs: dgemmRate(seconds: min(seconds, 1)), flopsPerForward: flops)
    }

    /// Single-call DGEMM rate on 512 x 512 matrices (the reference peak).
    public static func dgemmRate(seconds: Double) -> Double {
        let size = 512
        let a = [Double](repeating: 1.0001, count: size * size), b = a
        var c = [Double](repeating: 0, count: size * size)
        var calls = 0
        let start = Date()
        while Date().timeIntervalSince(start) < seconds || calls < 2 {
            a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
                cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(size), Int32(size), Int32(size), 1, ap.baseAddress!, Int32(size),
                            bp.baseAddress!, Int32(size), 0, cp.baseAddress!, Int32(size))
            } } }
            calls += 1
        }
        return 2 * Double(size * size * size) * Double(calls) / Date().timeIntervalSince(start) / 1e9
    }
}

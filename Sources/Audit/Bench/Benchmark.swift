import Dispatch
import Foundation
import Inference
import ModelFormat

/// `l2hmc-run bench`: fixed workloads with random weights (docs/RUNTIME.md, "Performance").
///
/// Each workload runs full L2HMC trajectories exactly as ``ChainSampler/step(kind:)`` does
/// (momentum draw, the forward and backward direction groups, Metropolis-Hastings) and reports
/// chain-trajectories per second and the effective GFLOP/s of the dense layers, next to the
/// machine's DGEMM rate measured in the same run with the same thread count.
///
/// FLOP model (so figures compare across implementations): 2 x in x out per chain for every dense
/// layer of the four network calls of each leapfrog step (a rank-r pair counts 2 x r x (in + out)),
/// nothing else; the time layer (2 inputs, constant per step) is excluded.
/// See ``L2HMCDynamics/multiplyAddsPerChainTrajectory``.
public enum Benchmark {
    public static let flopFormula =
        "FLOPs per chain-trajectory = 2 x sum over the 4 network calls of every leapfrog step of in x out per dense layer " +
        "(rank-r pair: r x (in + out)); time layer, activations, heads, force and updates not counted"

    /// One benchmark workload (all: beta 2, time input on, random weights from `RandomModel.make`).
    public struct Workload: Sendable {
        public let name: String
        public let summary: String
        public let spec: SamplerSpec
        public let chains: Int
        public let lowRank: Int?

        /// The same workload with `factor` times the chains (weak scaling: the work per thread
        /// stays that of the original at `factor` threads).
        public func scaled(by factor: Int) -> Workload {
            factor == 1 ? self : Workload(name: name, summary: summary, spec: spec, chains: chains * factor, lowRank: lowRank)
        }

        /// W1: U(1) 8x8, 64 chains, N_LF 5, shared networks, units [128, 128].
        public static let w1 = Workload(name: "W1", summary: "U(1) 8x8, 64 chains, N_LF 5, shared nets, [128,128]",
                                        spec: u1Spec(l: 8, nLF: 5, layout: .shared, units: [128, 128]), chains: 64, lowRank: nil)
        /// W2: U(1) 16x16, 256 chains, N_LF 8, per-step networks, units [256, 256].
        public static let w2 = Workload(name: "W2", summary: "U(1) 16x16, 256 chains, N_LF 8, per-step nets, [256,256]",
                                        spec: u1Spec(l: 16, nLF: 8, layout: .perStep, units: [256, 256]), chains: 256, lowRank: nil)
        /// W3: W2 with every dense layer replaced by its rank-16 truncated SVD.
        public static let w3 = Workload(name: "W3", summary: "W2 with low rank 16",
                                        spec: u1Spec(l: 16, nLF: 8, layout: .perStep, units: [256, 256]), chains: 256, lowRank: 16)
        /// W4: the seed's two-mode Gaussian mixture in 2D, 4096 chains, N_LF 10, units [64, 64].
        public static let w4 = Workload(name: "W4", summary: "2D two-mode Gaussian mixture, 4096 chains, N_LF 10, shared nets, [64,64]",
                                        spec: mixtureSpec(), chains: 4096, lowRank: nil)

        public static let all = [w1, w2, w3, w4]

        public static func named(_ name: String) -> Workload? { all.first { $0.name.lowercased() == name.lowercased() } }

        /// U(1) at beta 2: non-compact-projection x update, cos/sin blocks as the x input of both
        /// the x- and the v-networks (mask before the trig functions), time input, relu.
        static func u1Spec(l: Int, nLF: Int, layout: NetworkLayout, units: [Int]) -> SamplerSpec {
            SamplerSpec(target: .u1(U1Lattice(lt: l, lx: l, beta: 2)),
                        dynamics: Dynamics(nLF: nLF, xUpdate: .ncp),
                        network: NetworkSpec(layout: layout, xNetworksPerStep: 1, xNetInput: .cosSinBlocks, vNetInput: .cosSinBlocks,
                                             maskPlacement: .beforeTrig, timeInput: true, hiddenUnits: units, activation: .relu))
        }

        /// Seed 001 sec. 9.1: weights 1/2, means (-2, 0) and (2, 0), Sigma = 0.1 I; linear x update,
        /// raw inputs, shared networks with time input.
        static func mixtureSpec() -> SamplerSpec {
            let cov = [[0.1, 0.0], [0.0, 0.1]]
            return SamplerSpec(target: .gaussianMixture(GaussianMixture(dimension: 2, weights: [0.5, 0.5], means: [[-2, 0], [2, 0]], covariances: [cov, cov])),
                               dynamics: Dynamics(nLF: 10, xUpdate: .linear),
                               network: NetworkSpec(layout: .shared, xNetworksPerStep: 1, xNetInput: .raw, vNetInput: .raw,
                                                    maskPlacement: nil, timeInput: true, hiddenUnits: [64, 64], activation: .relu))
        }

        /// The sampler of this workload (random weights, seed 1, step sizes 0.1; Glorot kernels
        /// scaled by 0.3 (closer to HMC), so proposals are sometimes accepted,
        /// which the timing does not depend on) and its dynamics, in tiles of `tile` chains (nil:
        /// one tile of all chains) spread over `threads` lanes.
        /// float32 networks (`precision`) are set before the sampler makes its per-thread replicas.
        public func makeSampler(seed: UInt64 = 1, tile: Int? = nil, threads: Int = 1,
                                precision: NetworkPrecision = .float64) throws -> (sampler: ChainSampler, dynamics: L2HMCDynamics) {
            let model = try RandomModel.make(sampler: spec, seed: seed, epsX: 0.1, epsV: 0.1, weightScale: 0.3)
            let target = makeTarget(spec.target)
            let dynamics = try L2HMCDynamics(model: model, target: target, capacity: min(tile ?? chains, chains))
            if let r = lowRank { try dynamics.compress(.rank(r)) }
            if precision != .float64 { dynamics.setPrecision(precision) }
            let sampler = try ChainSampler(target: target, l2hmc: dynamics, hmc: nil, chains: chains, seed: seed, tile: tile, threads: threads)
            sampler.randomizeStart()
            return (sampler, dynamics)
        }
    }

    /// One measured workload at one thread count.
    public struct WorkloadResult: Codable, Sendable {
        public let workload: String
        public let description: String
        /// Threads: lanes of tiles (each GEMM on one OpenBLAS thread), or OpenBLAS's own threads
        /// inside every GEMM of one lane (`mode` "blas-threads", the comparison row).
        public let threads: Int
        public let mode: String
        /// "strong": the workload's chains at every thread count; "weak": threads x its chains.
        public var scaling: String = "strong"
        public let tile: Int
        /// Rate at this thread count over `threads` times the 1-thread rate of the same mode
        /// (nil when 1 thread was not measured).
        public var efficiency: Double?
        public let chains: Int
        public let trajectoriesTimed: Int
        public let secondsPerTrajectory: Double
        public let chainTrajectoriesPerSecond: Double
        public let flopsPerChainTrajectory: Double
        public let gflops: Double
        /// gflops / the DGEMM reference of the same thread count.
        public let fractionOfDGEMM: Double
        /// Share of the timed wall clock spent inside GEMM calls, and their own rate
        /// (executed GEMM FLOPs / GEMM time): what limits the workload.
        public let gemmTimeShare: Double?
        public let gemmGflops: Double?
        public let acceptance: Double
        /// Network arithmetic ("float64" or "float32"; float32 SGEMMs are not profiled, so the
        /// GEMM columns of float32 rows are nil, printed "-").
        public let precision: String
    }

    /// The DGEMM reference at one thread count.
    public struct DGEMMResult: Codable, Sendable {
        public let threads: Int
        /// GFLOP/s per square size n (2 n^3 FLOPs per call).
        public let sizes: [Int]
        public let gflopsBySize: [Double]
        /// The largest of the sizes' rates: the reference.
        public let gflops: Double
    }

    public struct Report: Codable, Sendable {
        public let flopFormula: String
        public let timing: String
        /// Instruction set of the elementwise kernels.
        public let elementwiseKernels: String
        /// `openblas_get_config()` and `openblas_get_corename()`, and the warning when that kernel
        /// set lacks the CPU's vector extensions (``BLASKernel``).
        public let blas: String
        public let blasCore: String
        public let blasWarning: String?
        public let dgemm: [DGEMMResult]
        public let workloads: [WorkloadResult]
        /// W3 chain-trajectories/s over W2's, per thread count (when both ran).
        public let lowRankSpeedup: [String: Double]
        /// float32 chain-trajectories/s over float64's, keyed "W2, 1 thread(s)" ('tiles' rows, when both ran).
        public let float32Speedup: [String: Double]
    }

    /// Monotonic wall clock in seconds.
    @inline(__always)
    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }

    /// Repeats `body` in `rounds` rounds of at least `seconds / rounds` each (at least one call per
    /// round) and returns the best round's (seconds per call, calls in all rounds).
    static func time(seconds: Double, rounds: Int = 3, _ body: () -> Void) -> (best: Double, calls: Int, total: Double) {
        var best = Double.infinity, calls = 0, total = 0.0
        let roundTime = seconds / Double(rounds)
        for _ in 0..<rounds {
            var count = 0
            let start = now()
            var elapsed = 0.0
            repeat {
                body()
                count += 1
                elapsed = now() - start
            } while elapsed < roundTime
            best = min(best, elapsed / Double(count))
            calls += count
            total += elapsed
        }
        return (best, calls, total)
    }

    /// Single-threaded (or `threads`-threaded) DGEMM rate on square matrices of each size.
    public static func dgemm(threads: Int, sizes: [Int] = [256, 512, 1024], seconds: Double = 0.6) -> DGEMMResult {
        BLAS.setThreads(threads)
        var rates: [Double] = []
        for n in sizes {
            let a = Buffer(n * n), b = Buffer(n * n), c = Buffer(n * n)
            var s = SplitMix64(seed: UInt64(n))
            for i in 0..<(n * n) { a[i] = s.uniform() - 0.5; b[i] = s.uniform() - 0.5 }
            let call = { RuntimeKernels.gemm(m: n, n: n, k: n, a: a.pointer, b: b.pointer, c: c.pointer) }
            call()  // warm-up
            let t = time(seconds: seconds, call)
            rates.append(2 * Double(n * n * n) / t.best / 1e9)
        }
        return DGEMMResult(threads: threads, sizes: sizes, gflopsBySize: rates, gflops: rates.max() ?? 0)
    }

    /// How the threads are used.
    public enum Mode: String, Sendable {
        /// `threads` lanes, each running whole tiles with single-threaded GEMMs (what runs use).
        case tiles
        /// One lane and one tile of all chains, every GEMM on `threads` OpenBLAS threads.
        case blasThreads = "blas-threads"
    }

    /// Times full L2HMC trajectories of `workload` (after two warm-up trajectories).
    public static func run(_ workload: Workload, threads: Int, mode: Mode = .tiles, tile: Int, seconds: Double, dgemmReference: Double,
                           precision: NetworkPrecision = .float64) throws -> WorkloadResult {
        let lanes = mode == .tiles ? min(threads, (workload.chains + tile - 1) / tile) : 1
        BLAS.setThreads(mode == .tiles ? 1 : threads)
        let (sampler, dynamics) = try workload.makeSampler(tile: mode == .tiles ? tile : nil, threads: lanes, precision: precision)
        var accepted = 0, proposed = 0
        let step = {
            let o = sampler.step(kind: .l2hmc)
            accepted += o.accepted.lazy.filter { $0 }.count
            proposed += o.accepted.count
        }
        step(); step()  // warm-up: page in buffers and weights, let OpenBLAS start its threads
        // GEMM time is only accounted on one lane (the counters are not atomic).
        BLAS.resetProfile()
        BLAS.profiling = lanes == 1
        let t = time(seconds: seconds, step)
        BLAS.profiling = false
        let gemmSeconds = Double(BLAS.profiledNanoseconds) * 1e-9
        let flops = 2 * Double(dynamics.multiplyAddsPerChainTrajectory)
        let chains = Double(workload.chains)
        let gflops = flops * chains / t.best / 1e9
        return WorkloadResult(workload: workload.name, description: workload.summary, threads: mode == .tiles ? lanes : threads, mode: mode.rawValue,
                              tile: mode == .tiles ? min(tile, workload.chains) : workload.chains, efficiency: nil, chains: workload.chains,
                              trajectoriesTimed: t.calls, secondsPerTrajectory: t.best, chainTrajectoriesPerSecond: chains / t.best,
                              flopsPerChainTrajectory: flops, gflops: gflops, fractionOfDGEMM: gflops / dgemmReference,
                              gemmTimeShare: lanes == 1 && precision == .float64 ? gemmSeconds / t.total : nil,
                              gemmGflops: gemmSeconds > 0 && precision == .float64 ? 2 * Double(BLAS.profiledMultiplyAdds) / gemmSeconds / 1e9 : nil,
                              acceptance: proposed > 0 ? Double(accepted) / Double(proposed) : 0, precision: precision.rawValue)
    }

    /// Runs the DGEMM reference and every workload at every thread count, in tiles of `tile`
    /// chains (nil: each workload's ``TilePolicy`` default, as l2hmc-run chooses it); with `compareBLASThreads`, also every workload with one tile and OpenBLAS's
    /// threads at each thread count above 1 (the measurement behind the threading rule).
    /// Each precision in `precisions` gets its own 'tiles' rows (float32 next to float64); the
    /// 'blas-threads' comparison runs in float64 only.
    public static func run(workloads: [Workload], threadCounts: [Int], tile: Int? = nil, seconds: Double, compareBLASThreads: Bool = true,
                           precisions: [NetworkPrecision] = [.float64], progress: (String) -> Void = { _ in }) throws -> Report {
        let before = BLAS.threads
        defer { BLAS.setThreads(before) }
        var references: [DGEMMResult] = [], results: [WorkloadResult] = []
        for threads in threadCounts {
            progress("dgemm, \(threads) thread(s)")
            let ref = dgemm(threads: threads, seconds: max(0.3, min(seconds, 1.5)))
            references.append(ref)
            for w in workloads {
                let t = tile ?? TilePolicy.defaultTile(chains: w.chains, sampler: w.spec)
                for p in precisions {
                    progress("\(w.name) \(p.rawValue), \(threads) thread(s)")
                    results.append(try run(w, threads: threads, tile: t, seconds: seconds, dgemmReference: ref.gflops, precision: p))
                }
                if threads > 1 {
                    progress("\(w.name) x \(threads) chains, \(threads) thread(s)")
                    var weak = try run(w.scaled(by: threads), threads: threads, tile: t, seconds: seconds, dgemmReference: ref.gflops)
                    weak.scaling = "weak"
                    results.append(weak)
                }
                if compareBLASThreads && threads > 1 {
                    progress("\(w.name), \(threads) OpenBLAS thread(s)")
                    results.append(try run(w, threads: threads, mode: .blasThreads, tile: t, seconds: seconds, dgemmReference: ref.gflops))
                }
            }
        }
        for i in results.indices {
            let r = results[i]
            let baseMode = r.mode == Mode.blasThreads.rawValue ? Mode.tiles.rawValue : r.mode
            if let one = results.first(where: { $0.workload == r.workload && $0.mode == baseMode && $0.threads == 1 && $0.precision == r.precision
                                                && $0.scaling == "strong" }) {
                results[i].efficiency = r.chainTrajectoriesPerSecond / (Double(r.threads) * one.chainTrajectoriesPerSecond)
            }
        }
        var speedup: [String: Double] = [:]
        for threads in threadCounts {
            let r = results.filter { $0.threads == threads && $0.mode == Mode.tiles.rawValue && $0.precision == NetworkPrecision.float64.rawValue
                                     && $0.scaling == "strong" }
            if let w2 = r.first(where: { $0.workload == "W2" }), let w3 = r.first(where: { $0.workload == "W3" }) {
                speedup["\(threads)"] = w3.chainTrajectoriesPerSecond / w2.chainTrajectoriesPerSecond
            }
        }
        var f32: [String: Double] = [:]
        for a in results where a.precision == NetworkPrecision.float32.rawValue {
            if let b = results.first(where: { $0.workload == a.workload && $0.threads == a.threads && $0.mode == a.mode && $0.scaling == a.scaling
                                              && $0.precision == NetworkPrecision.float64.rawValue }) {
                f32["\(a.workload), \(a.threads) thread(s)"] = a.chainTrajectoriesPerSecond / b.chainTrajectoriesPerSecond
            }
        }
        let kernel = BLASKernel.current()
        return Report(flopFormula: flopFormula,
                      timing: "wall clock (monotonic), best of 3 rounds after 2 warm-up trajectories; DGEMM reference = best square size",
                      elementwiseKernels: RuntimeKernels.elementwiseInstructionSet, blas: kernel.configuration, blasCore: kernel.core,
                      blasWarning: kernel.warning, dgemm: references, workloads: results, lowRankSpeedup: speedup,
                      float32Speedup: f32)
    }

    /// The report as a readable table.
    public static func table(_ report: Report) -> String {
        var lines: [String] = []
        func pad(_ s: String, _ w: Int) -> String { s.count >= w ? s : String(repeating: " ", count: w - s.count) + s }
        func padRight(_ s: String, _ w: Int) -> String { s.count >= w ? s : s + String(repeating: " ", count: w - s.count) }
        func f(_ x: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", x) }
        lines.append("l2hmc-run bench: full L2HMC trajectories (momentum draw, forward + backward groups, Metropolis-Hastings)")
        lines.append("FLOP model: \(report.flopFormula)")
        lines.append("timing:     \(report.timing)")
        lines.append("kernels:    elementwise SIMD path \(report.elementwiseKernels); GEMMs by \(report.blas), \(report.blasCore) kernels")
        if let w = report.blasWarning { lines.append("warning:    \(w)") }
        lines.append("threads:    'tiles' rows: each thread runs whole tiles of chains with single-threaded GEMMs (what l2hmc-run does);")
        lines.append("            'blas-threads' rows: one tile of all chains, OpenBLAS threads inside each GEMM (for comparison)")
        lines.append("scaling:    strong: the workload's chains at every thread count; weak: threads x its chains (the same work per thread)")
        lines.append("")
        for ref in report.dgemm {
            let sizes = zip(ref.sizes, ref.gflopsBySize).map { "n=\($0) \(f($1, 1))" }.joined(separator: ", ")
            lines.append("DGEMM reference, \(ref.threads) thread(s): \(f(ref.gflops, 1)) GFLOP/s  (square C = A B, 2n^3 FLOPs: \(sizes))")
        }
        lines.append("")
        lines.append(padRight("workload", 9) + padRight("mode", 13) + padRight("scaling", 8) + pad("chains", 7) + pad("tile", 5) + pad("threads", 8) + pad("chain-traj/s", 14) + pad("effic.", 8) + pad("ms/traj", 10) + pad("MFLOP/ch-traj", 15)
                     + pad("GFLOP/s", 9) + pad("% DGEMM", 9) + pad("GEMM time", 10) + pad("GEMM GF/s", 10) + pad("accept", 8) + "  description")
        for r in report.workloads {
            let label = r.workload + (r.precision == NetworkPrecision.float32.rawValue ? " f32" : "")
            lines.append(padRight(label, 9) + padRight(r.mode, 13) + padRight(r.scaling, 8) + pad("\(r.chains)", 7) + pad("\(r.tile)", 5) + pad("\(r.threads)", 8)
                         + pad(f(r.chainTrajectoriesPerSecond, 1), 14) + pad(r.efficiency.map { f(100 * $0, 0) + " %" } ?? "-", 8)
                         + pad(f(1000 * r.secondsPerTrajectory, 2), 10) + pad(f(r.flopsPerChainTrajectory / 1e6, 3), 15)
                         + pad(f(r.gflops, 2), 9) + pad(f(100 * r.fractionOfDGEMM, 1), 9) + pad(r.gemmTimeShare.map { f(100 * $0, 0) + " %" } ?? "-", 10)
                         + pad(r.gemmGflops.map { f($0, 1) } ?? "-", 10) + pad(f(r.acceptance, 2), 8) + "  " + r.description)
        }
        lines.append("effic.: rate / (threads x the 1-thread rate). GEMM time (one lane only): share of the wall clock inside GEMM calls;")
        lines.append("GEMM GF/s: executed GEMM FLOPs over that time. The rest is")
        lines.append("elementwise work (encodings, activations, heads, updates, force, Metropolis-Hastings, momentum draws).")
        for (threads, s) in report.lowRankSpeedup.sorted(by: { $0.key < $1.key }) {
            lines.append("W3 / W2 chain-trajectories per second, \(threads) thread(s): \(f(s, 2))x")
        }
        if !report.float32Speedup.isEmpty {
            lines.append("\"f32\" rows: --precision float32 (SGEMM networks, float64 states and updates; their SGEMMs are not profiled).")
        }
        for (key, s) in report.float32Speedup.sorted(by: { $0.key < $1.key }) {
            lines.append("float32 / float64 chain-trajectories per second, \(key): \(f(s, 2))x")
        }
        return lines.joined(separator: "\n")
    }

    /// The report as pretty-printed JSON.
    public static func json(_ report: Report) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(report), as: UTF8.self)
    }
}

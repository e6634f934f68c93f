import Foundation
import Inference
import ModelFormat

/// `l2hmc-run bench --local LATTICES` (W5 of issue 14): a local model run at each lattice, one
/// thread, timed against plain HMC with the same N_LF on the same lattice and chains.
///
/// Each measurement repeats whole proposals (forward trajectories, no accept/reject or momentum
/// refresh, which cost the same for both samplers) on `chains` chains until `seconds` have passed,
/// in 3 rounds; the best round counts. chain-traj/s = chains x trajectories / seconds. The ratio
/// "cost vs HMC" is the HMC rate over the L2HMC rate: how many HMC trajectories of the same
/// N_LF one local-model trajectory costs.
enum LocalBench {
    struct Row {
        let lattice: String
        let chains: Int
        let nLF: Int
        let l2hmcRate: Double, hmcRate: Double
        /// Multiply-adds of the networks per chain trajectory.
        let multiplyAdds: Int
        var cost: Double { hmcRate / l2hmcRate }
    }

    /// The default W5 model: random weights (scale 0.3), channels [16, 16], 3x3 kernels, N_LF 4,
    /// shared networks with time input, NCP x update, built for 8x8 at beta 2.
    static func defaultModel() throws -> L2ZModel {
        let spec = SamplerSpec(target: .u1(U1Lattice(lt: 8, lx: 8, beta: 2)), dynamics: Dynamics(nLF: 4, xUpdate: .ncp),
                               network: .local(LocalNetworkSpec(kernelSize: 3), layout: .shared, timeInput: true, channels: [16, 16]))
        return try RandomModel.make(sampler: spec, seed: 1, epsX: 0.1, epsV: 0.1, weightScale: 0.3)
    }

    static func run(model: L2ZModel, lattices: [(Int, Int)], chains: Int, seconds: Double, progress: (String) -> Void) throws -> [Row] {
        guard case let .u1(built) = try model.sampler.target, try model.sampler.network.kind.local != nil else {
            throw InferenceError.invalidOption(name: "--local", reason: "needs a local model (network kind local)")
        }
        let before = BLAS.threads
        BLAS.setThreads(1)
        defer { BLAS.setThreads(before) }
        return try lattices.map { (lt, lx) in
            progress("W5 \(lt)x\(lx)")
            let target = U1Action(lattice: U1Lattice(lt: lt, lx: lx, beta: built.beta, linkLayout: built.linkLayout))
            let dyn = try L2HMCDynamics(model: model, target: target, capacity: chains)
            let hmc = LeapfrogDynamics(target: target, stepSize: 0.1, stepCount: dyn.plan.steps.count, capacity: chains)
            return Row(lattice: "\(lt)x\(lx)", chains: chains, nLF: dyn.plan.steps.count,
                       l2hmcRate: rate(dyn, n: target.stateSize, chains: chains, seconds: seconds),
                       hmcRate: rate(hmc, n: target.stateSize, chains: chains, seconds: seconds),
                       multiplyAdds: dyn.multiplyAddsPerChainTrajectory)
        }
    }

    /// Best of 3 rounds of chain trajectories per second.
    private static func rate(_ p: Proposal, n: Int, chains: Int, seconds: Double) -> Double {
        let x = Buffer(chains * n), v = Buffer(chains * n), logDet = Buffer(chains)
        var rng = SplitMix64(seed: 3)
        for i in 0..<(chains * n) { x[i] = 2 * .pi * rng.uniform() - .pi; v[i] = rng.normal() }
        p.propose(x: x.pointer, v: v.pointer, rows: chains, forward: true, logDet: logDet.pointer)  // warm-up
        var best = 0.0
        for _ in 0..<3 {
            let start = DispatchTime.now().uptimeNanoseconds
            var done = 0, elapsed = 0.0
            repeat {
                p.propose(x: x.pointer, v: v.pointer, rows: chains, forward: done % 2 == 0, logDet: logDet.pointer)
                done += 1
                elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
            } while elapsed < seconds / 3
            best = max(best, Double(done * chains) / elapsed)
        }
        return best
    }

    static func table(_ rows: [Row]) -> String {
        var lines = ["W5: local model vs plain HMC with the same N_LF, 1 thread (forward trajectories, best of 3 rounds)",
                     "lattice    chains  N_LF   L2HMC chain-traj/s    HMC chain-traj/s   cost vs HMC   net MFLOP/traj"]
        for r in rows {
            lines.append(r.lattice.padding(toLength: 10, withPad: " ", startingAt: 0)
                         + String(format: " %6d  %4d  %19.1f  %18.1f  %11.1fx  %14.2f", r.chains, r.nLF, r.l2hmcRate, r.hmcRate, r.cost, 2 * Double(r.multiplyAdds) * 1e-6))
        }
        return lines.joined(separator: "\n")
    }
}

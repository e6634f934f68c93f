import Foundation
import ModelFormat

/// The trainer's forward pass exposed for audits and golden tests: whole trajectories and a
/// trace of every sub-update, computed by the trainer's own code (never the runtime's).
public enum TrainerRecompute {
    /// One sub-update of a trajectory, in the order applied.
    public struct SubUpdate: Sendable {
        /// Leapfrog step k (network and mask index) and the sub-update within it: "v1", "x1",
        /// "x2", "v2" in forward order (the backward direction applies v2, x2, x1, v1 inverses).
        public let step: Int
        public let stage: String
        /// State after the sub-update, [rows, n] flattened.
        public let x: [Double]
        public let v: [Double]
        /// The sub-update's network outputs S, T, Q with net weights applied, [rows, n].
        public let s: [Double], t: [Double], q: [Double]
        /// Running log-det after the sub-update, [rows] (the trainer's own running sum, so the last
        /// sub-update's equals the trajectory's log-det).
        public let logDet: [Double]
        /// The network used and its exact inputs (dense: encoded x [rows, width] and v or F
        /// [rows, n]; local: the per-site features [rows, sites * 8], site s = t lx + x with the 8
        /// channels innermost, and an empty vIn), time, and the net weights (S, T, Q) applied to
        /// its outputs.
        public let network: String
        public let xIn: [Double], vIn: [Double]
        public let tau: [Double]?
        public let weights: [Double]
    }

    public struct Trajectory: Sendable {
        public let x: [Double]
        public let v: [Double]
        public let logDet: [Double]
        public let subUpdates: [SubUpdate]
    }

    /// Runs all rows in one direction at coupling `scale` (beta for U(1), 1 for mixtures) with
    /// `weights` (default: the model's net weights).
    public static func trajectory(_ model: TrainerModel, x0: [Double], v0: [Double], rows: Int, forward: Bool,
                                  scale: Double, weights: NetWeights? = nil) -> Trajectory {
        let n = model.spec.stateSize
        let dyn = model.dynamics()
        let w = weights ?? model.spec.netWeights
        let r = dyn.run(x0: Matrix(rows: rows, cols: n, data: x0), v0: Matrix(rows: rows, cols: n, data: v0), forward: forward,
                        params: model.params, scale: scale, weights: w)
        // Every tape entry names its step and stage and holds the state and log-det after it.
        let subs = r.tape.map { entry -> SubUpdate in
            let cache = entry.record.cache
            return SubUpdate(step: entry.step, stage: entry.stage.rawValue, x: entry.after.x.data, v: entry.after.v.data,
                             s: cache.s.data, t: cache.t.data, q: cache.q.data, logDet: entry.logDet,
                             network: dyn.network(entry.stage, step: entry.step).name, xIn: cache.xIn.data, vIn: cache.vIn.data,
                             tau: cache.tau, weights: [cache.weights.s, cache.weights.t, cache.weights.q])
        }
        return Trajectory(x: r.x.data, v: r.v.data, logDet: r.logDet, subUpdates: subs)
    }

    /// H = U(x) + K(v) per row from the trainer's own target at coupling `scale` (beta for U(1),
    /// 1 for mixtures): the energies behind the trainer's acceptance, for audits that compare it
    /// with the runtime's. x and v are [rows, n] flattened.
    public static func hamiltonian(_ model: TrainerModel, x: [Double], v: [Double], rows: Int, scale: Double) -> [Double] {
        let n = model.spec.stateSize, target = model.target
        let u = target.energy(Matrix(rows: rows, cols: n, data: x), scale: scale)
        let k = target.kineticEnergy(Matrix(rows: rows, cols: n, data: v))
        return zip(u, k).map { $0 + $1 }
    }

    /// The network `name` evaluated on explicit inputs with unit net weights: S, T, Q [rows, n].
    /// Dense: xIn the encoded x [rows, width], vIn v or F [rows, n]; local: xIn the per-site
    /// features [rows, sites * 8] (as ``SubUpdate/xIn``) and vIn empty.
    public static func network(_ model: TrainerModel, name: String, xIn: [Double], vIn: [Double], tau: [Double]?, rows: Int) throws
        -> (s: [Double], t: [Double], q: [Double]) {
        let dyn = model.dynamics()
        guard let net = dyn.networks.first(where: { $0.name == name }) else {
            throw TrainerModel.Failure.unsupported("no network \(name)")
        }
        let n = model.spec.stateSize
        switch net {
        case let .dense(dense, _):
            guard xIn.count == rows * dense.xWidth, vIn.count == rows * n else {
                throw TrainerModel.Failure.unsupported("network \(name) takes [\(rows), \(dense.xWidth)] and [\(rows), \(n)] inputs")
            }
            let c = dense.forward(xIn: Matrix(rows: rows, cols: dense.xWidth, data: xIn), vIn: Matrix(rows: rows, cols: n, data: vIn), tau: tau,
                                  weights: (1, 1, 1), params: model.params)
            return (c.s.data, c.t.data, c.q.data)
        case let .local(local):
            guard xIn.count == rows * local.inputWidth, vIn.isEmpty else {
                throw TrainerModel.Failure.unsupported("local network \(name) takes [\(rows), \(local.inputWidth)] features and no second input")
            }
            let c = local.forward(input: Matrix(rows: rows * local.lattice.sites, cols: LocalSiteFeatures.channels, data: xIn), rows: rows,
                                  tau: tau, weights: (1, 1, 1), params: model.params)
            return (c.s.data, c.t.data, c.q.data)
        }
    }
}

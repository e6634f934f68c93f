import Foundation
import ModelFormat

/// Turns a trained model into an `.l2z` model, with a probe computed by the trainer's own
/// forward pass (so a runtime that reproduces it agrees with the trainer). Local models have no
/// `masks` array and only the trajectory probe (their networks' inputs depend on the lattice).
public enum ModelExporter {
    public static func export(_ model: TrainerModel, provenance: Provenance, probeBatch: Int = 4, probeSeed: UInt64 = 0x7E57) throws -> L2ZModel {
        let spec = model.spec
        var arrays: [String: NDArray] = [:]
        for slice in model.params.slices {
            let values = Array(model.params[slice.name])
            switch slice.name {
            case "log_eps_x": arrays["eps_x"] = try NDArray(shape: slice.shape, doubles: values.map { exp($0) })
            case "log_eps_v": arrays["eps_v"] = try NDArray(shape: slice.shape, doubles: values.map { exp($0) })
            default: arrays[slice.name] = try NDArray(shape: slice.shape, doubles: values)
            }
        }
        // A local model's masks are its rule, evaluated at run time for any lattice: no array.
        if spec.network.kind.local == nil {
            arrays["masks"] = try NDArray(shape: [spec.dynamics.nLF, spec.stateSize], uint8s: model.masks.flatMap { $0.map { $0 != 0 ? 1 : 0 } })
        }
        var l2z = L2ZModel(sampler: spec, arrays: arrays, provenance: provenance)
        try addProbe(to: &l2z, model: model, batch: probeBatch, seed: probeSeed)
        return l2z
    }

    /// Probe tolerances: the runtime and the trainer evaluate the same float64 formulas in a
    /// different order (GEMM blocking, fused loops), so results differ by rounding, ~1e-14
    /// relative after a few steps; 1e-9 leaves a wide margin and still catches any wrong weight.
    public static let tolerance = Tolerance(abs: 1e-9, rel: 1e-8)

    static func addProbe(to l2z: inout L2ZModel, model: TrainerModel, batch: Int, seed: UInt64) throws {
        let spec = model.spec, n = spec.stateSize
        let dyn = model.dynamics()
        var rng = SplitMix64(seed: seed)
        func normals(_ count: Int) -> [Double] { (0..<count).map { _ in rng.normal() } }
        var networks: [String] = []
        for net in dyn.networks.compactMap(\.dense) {
            networks.append(net.name)
            let inX = normals(batch * net.xWidth), inV = normals(batch * n)
            var s: [Double] = [], t: [Double] = [], q: [Double] = [], taus: [Double] = []
            for r in 0..<batch {
                let angle = 2 * Double.pi * Double(r) / Double(batch)
                let tau = spec.network.timeInput ? [cos(angle), sin(angle)] : nil
                if let tau { taus += tau }
                let c = net.forward(xIn: Matrix(rows: 1, cols: net.xWidth, data: Array(inX[(r * net.xWidth)..<((r + 1) * net.xWidth)])),
                                    vIn: Matrix(rows: 1, cols: n, data: Array(inV[(r * n)..<((r + 1) * n)])), tau: tau,
                                    weights: (1, 1, 1), params: model.params)
                s += c.s.data; t += c.t.data; q += c.q.data
            }
            l2z.arrays[ProbeArrayNames.inX(net.name)] = try NDArray(shape: [batch, net.xWidth], doubles: inX)
            l2z.arrays[ProbeArrayNames.inV(net.name)] = try NDArray(shape: [batch, n], doubles: inV)
            if spec.network.timeInput { l2z.arrays[ProbeArrayNames.inT(net.name)] = try NDArray(shape: [batch, 2], doubles: taus) }
            l2z.arrays[ProbeArrayNames.output(net.name, .scale)] = try NDArray(shape: [batch, n], doubles: s)
            l2z.arrays[ProbeArrayNames.output(net.name, .translation)] = try NDArray(shape: [batch, n], doubles: t)
            l2z.arrays[ProbeArrayNames.output(net.name, .transformation)] = try NDArray(shape: [batch, n], doubles: q)
        }
        var x0 = normals(batch * n)
        let v0 = normals(batch * n)
        if spec.target.isCompact { x0 = x0.map { wrapAngle(2 * $0) } }
        let direction = (0..<batch).map { $0 % 2 == 0 ? 1.0 : -1.0 }
        var x1: [Double] = [], v1: [Double] = [], logDet: [Double] = []
        for r in 0..<batch {
            let res = dyn.run(x0: Matrix(rows: 1, cols: n, data: Array(x0[(r * n)..<((r + 1) * n)])),
                              v0: Matrix(rows: 1, cols: n, data: Array(v0[(r * n)..<((r + 1) * n)])),
                              forward: direction[r] > 0, params: model.params, scale: targetScale(spec), weights: spec.netWeights)
            x1 += res.x.data; v1 += res.v.data; logDet += res.logDet
        }
        l2z.arrays[ProbeArrayNames.Trajectory.x0] = try NDArray(shape: [batch, n], doubles: x0)
        l2z.arrays[ProbeArrayNames.Trajectory.v0] = try NDArray(shape: [batch, n], doubles: v0)
        l2z.arrays[ProbeArrayNames.Trajectory.direction] = try NDArray(shape: [batch], doubles: direction)
        l2z.arrays[ProbeArrayNames.Trajectory.x1] = try NDArray(shape: [batch, n], doubles: x1)
        l2z.arrays[ProbeArrayNames.Trajectory.v1] = try NDArray(shape: [batch, n], doubles: v1)
        l2z.arrays[ProbeArrayNames.Trajectory.logDet] = try NDArray(shape: [batch], doubles: logDet)
        l2z.probe = ProbeSpec(batch: batch, networks: networks, trajectory: true, headsTolerance: tolerance,
                              trajectoryTolerance: tolerance, logDetTolerance: tolerance)
    }

    /// The coupling of the exported target: beta for U(1) (stored in the lattice), 1 for mixtures.
    static func targetScale(_ spec: SamplerSpec) -> Double {
        if case let .u1(l) = spec.target { return l.beta }
        return 1
    }
}

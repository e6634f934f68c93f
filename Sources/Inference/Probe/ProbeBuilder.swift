import ModelFormat

/// Computes a probe with this runtime and stores it in a model (used by the converter and by
/// fixtures made from random weights; the trainer computes its own with its own forward pass).
public enum ProbeBuilder {
    /// Default tolerances: float64 evaluation of the same formulas differs by rounding only:
    /// ~1e-15 relative per operation, amplified by GEMM sums over hundreds of terms and by
    /// N_LF steps; 1e-10 leaves a wide margin and still catches any wrong weight.
    public static let headsTolerance = Tolerance(abs: 1e-10, rel: 1e-9)
    public static let trajectoryTolerance = Tolerance(abs: 1e-9, rel: 1e-8)
    public static let logDetTolerance = Tolerance(abs: 1e-9, rel: 1e-8)

    public static func addProbe(to model: inout L2ZModel, target: TargetAction, batch: Int = 4, seed: UInt64 = 0x9E0B) throws {
        model.probe = nil
        for name in model.arrays.keys where ProbeArrayNames.isProbe(name) { model.arrays[name] = nil }
        let spec = try model.sampler
        let n = spec.stateSize
        let dyn = try L2HMCDynamics(model: model, target: target, capacity: batch)
        let random = ChainRandom(seed: seed)
        func normals(_ count: Int, _ stream: UInt32) -> [Double] {
            let buffer = Buffer(count)
            random.normals(trajectory: stream, chain: 0, purpose: .probe, count: count, into: buffer.pointer)
            return buffer.array
        }
        func states(_ count: Int, _ stream: UInt32) -> [Double] {
            target.isCompact ? normals(count, stream).map { Angles.wrap(2 * $0) } : normals(count, stream)
        }
        let networks = SamplerRules.networkNames(spec)
        for (k, net) in networks.enumerated() {
            let width = (net.hasPrefix("vnet") ? spec.network.vNetInput : spec.network.xNetInput).width(stateSize: n)
            let inX = normals(batch * width, UInt32(3 * k)), inV = normals(batch * n, UInt32(3 * k + 1))
            let inT = spec.network.timeInput ? (0..<batch).flatMap { r -> [Double] in
                let angle = 2 * Double.pi * Double(r) / Double(batch)
                return [cos(angle), sin(angle)]
            } : nil
            var s = [Double](), t = [Double](), q = [Double]()
            for r in 0..<batch {
                let out = try dyn.evaluateNetwork(net, xIn: Array(inX[(r * width)..<((r + 1) * width)]), vIn: Array(inV[(r * n)..<((r + 1) * n)]),
                                                  tau: inT.map { [$0[2 * r], $0[2 * r + 1]] }, rows: 1)
                s += out.s; t += out.t; q += out.q
            }
            model.arrays[ProbeArrayNames.inX(net)] = try NDArray(shape: [batch, width], doubles: inX)
            model.arrays[ProbeArrayNames.inV(net)] = try NDArray(shape: [batch, n], doubles: inV)
            if let inT { model.arrays[ProbeArrayNames.inT(net)] = try NDArray(shape: [batch, 2], doubles: inT) }
            model.arrays[ProbeArrayNames.output(net, .scale)] = try NDArray(shape: [batch, n], doubles: s)
            model.arrays[ProbeArrayNames.output(net, .translation)] = try NDArray(shape: [batch, n], doubles: t)
            model.arrays[ProbeArrayNames.output(net, .transformation)] = try NDArray(shape: [batch, n], doubles: q)
        }
        let x0 = states(batch * n, 1000), v0 = normals(batch * n, 1001)
        let direction = (0..<batch).map { $0 % 2 == 0 ? 1.0 : -1.0 }
        var x1 = [Double](), v1 = [Double](), logDet = [Double]()
        for r in 0..<batch {
            let xb = Buffer(Array(x0[(r * n)..<((r + 1) * n)])), vb = Buffer(Array(v0[(r * n)..<((r + 1) * n)])), ld = Buffer(1)
            if direction[r] > 0 { dyn.forward(x: xb.pointer, v: vb.pointer, rows: 1, logDet: ld.pointer) } else {
                dyn.backward(x: xb.pointer, v: vb.pointer, rows: 1, logDet: ld.pointer)
            }
            x1 += xb.array; v1 += vb.array; logDet.append(ld[0])
        }
        model.arrays[ProbeArrayNames.Trajectory.x0] = try NDArray(shape: [batch, n], doubles: x0)
        model.arrays[ProbeArrayNames.Trajectory.v0] = try NDArray(shape: [batch, n], doubles: v0)
        model.arrays[ProbeArrayNames.Trajectory.direction] = try NDArray(shape: [batch], doubles: direction)
        model.arrays[ProbeArrayNames.Trajectory.x1] = try NDArray(shape: [batch, n], doubles: x1)
        model.arrays[ProbeArrayNames.Trajectory.v1] = try NDArray(shape: [batch, n], doubles: v1)
        model.arrays[ProbeArrayNames.Trajectory.logDet] = try NDArray(shape: [batch], doubles: logDet)
        model.probe = ProbeSpec(batch: batch, networks: networks, trajectory: true, headsTolerance: headsTolerance,
                                trajectoryTolerance: trajectoryTolerance, logDetTolerance: logDetTolerance)
    }
}

import Foundation

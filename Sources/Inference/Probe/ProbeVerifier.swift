import ModelFormat

/// Re-runs the probe stored in a model and compares with what its producer computed.
///
/// Networks: `probe.NET.out_*` against the network evaluated on `probe.NET.in_*` with unit net
/// weights. Trajectory: the trained N_LF steps with the model's default net weights, forward for
/// direction +1 and backward for -1, no accept/reject; x1 compared angle-aware on the circle.
/// A mismatch names the array, the largest difference, where it is, and the tolerance.
public enum ProbeVerifier {
    public struct Report: Sendable {
        /// Largest |difference| per probe output array.
        public let maxDifferences: [String: Double]
    }

    public static func verify(model: L2ZModel, target: TargetAction) throws -> Report? {
        guard let probe = model.probe else { return nil }
        let dyn = try L2HMCDynamics(model: model, target: target, capacity: probe.batch)
        let n = model.sampler.stateSize, b = probe.batch
        var diffs: [String: Double] = [:]
        for net in probe.networks {
            let tau = model.sampler.network.timeInput ? try model.doubles(ProbeArrayNames.inT(net)) : nil
            let inX = try model.doubles(ProbeArrayNames.inX(net)), inV = try model.doubles(ProbeArrayNames.inV(net))
            // Evaluate row by row when the time input differs between rows.
            var s = [Double](), t = [Double](), q = [Double]()
            for r in 0..<b {
                let width = inX.count / b
                let out = try dyn.evaluateNetwork(net, xIn: Array(inX[(r * width)..<((r + 1) * width)]), vIn: Array(inV[(r * n)..<((r + 1) * n)]),
                                                  tau: tau.map { [$0[2 * r], $0[2 * r + 1]] }, rows: 1)
                s += out.s; t += out.t; q += out.q
            }
            for (head, actual) in [(ProbeArrayNames.Head.scale, s), (.translation, t), (.transformation, q)] {
                let name = ProbeArrayNames.output(net, head)
                diffs[name] = try compare(name, actual: actual, expected: try model.doubles(name), tolerance: probe.headsTolerance, compact: false)
            }
        }
        if probe.trajectory {
            let x0 = try model.doubles(ProbeArrayNames.Trajectory.x0), v0 = try model.doubles(ProbeArrayNames.Trajectory.v0)
            let d = try model.doubles(ProbeArrayNames.Trajectory.direction)
            var x1 = [Double](repeating: 0, count: b * n), v1 = x1, logDet = [Double](repeating: 0, count: b)
            for r in 0..<b {
                let xb = Buffer(Array(x0[(r * n)..<((r + 1) * n)])), vb = Buffer(Array(v0[(r * n)..<((r + 1) * n)])), ld = Buffer(1)
                if d[r] > 0 { dyn.forward(x: xb.pointer, v: vb.pointer, rows: 1, logDet: ld.pointer) } else {
                    dyn.backward(x: xb.pointer, v: vb.pointer, rows: 1, logDet: ld.pointer)
                }
                for i in 0..<n { x1[r * n + i] = xb[i]; v1[r * n + i] = vb[i] }
                logDet[r] = ld[0]
            }
            let compact = target.isCompact
            diffs[ProbeArrayNames.Trajectory.x1] = try compare(ProbeArrayNames.Trajectory.x1, actual: x1, expected: try model.doubles(ProbeArrayNames.Trajectory.x1),
                                                       tolerance: probe.trajectoryTolerance, compact: compact)
            diffs[ProbeArrayNames.Trajectory.v1] = try compare(ProbeArrayNames.Trajectory.v1, actual: v1, expected: try model.doubles(ProbeArrayNames.Trajectory.v1),
                                                       tolerance: probe.trajectoryTolerance, compact: false)
            diffs[ProbeArrayNames.Trajectory.logDet] = try compare(ProbeArrayNames.Trajectory.logDet, actual: logDet, expected: try model.doubles(ProbeArrayNames.Trajectory.logDet),
                                                            tolerance: probe.logDetTolerance, compact: false)
        }
        return Report(maxDifferences: diffs)
    }

    private static func compare(_ name: String, actual: [Double], expected: [Double], tolerance: Tolerance, compact: Bool) throws -> Double {
        var worst = 0.0
        for (i, (a, e)) in zip(actual, expected).enumerated() {
            let diff = compact ? abs(Angles.wrap(a - e)) : abs(a - e)
            worst = max(worst, diff)
            if !(diff <= tolerance.abs + tolerance.rel * abs(e)) {
                throw InferenceError.probeMismatch(array: name, maxDifference: diff, tolerance: "abs \(tolerance.abs) + rel \(tolerance.rel)", index: i)
            }
        }
        return worst
    }
}

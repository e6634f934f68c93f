import ModelFormat

/// Re-runs the probe stored in a model and compares with what its producer computed.
///
/// Networks: `probe.NET.out_*` against the network evaluated on `probe.NET.in_*` with unit net
/// weights. Trajectory: the trained N_LF steps with the model's default net weights, forward for
/// direction +1 and backward for -1, no accept/reject; x1 compared angle-aware on the circle.
/// A mismatch names the array, the largest difference, where it is, and the tolerance.
///
/// float32 networks (`precision: .float32`) cannot meet tolerances written for a double producer,
/// so each stored tolerance (abs a, rel r) is widened by a float32 term (``float32Widening``):
///   heads:          a + u G s,                 s = max(1, max |expected|)
///   x1, v1:         a + u G (4 N_LF) s
///   log_det:        a + u G (4 N_LF) sqrt(n) s
/// with u = 2^-24 ~ 6e-8 the float unit roundoff and G the network's rounding growth
/// (``L2HMCNetwork/float32RoundingGrowth``: the sum over the layers of one evaluation of fan-in + 2,
/// the first-order worst-case bound gamma_k = k u of a k-term float dot product, plus one rounding
/// for the input and one for the activation of each layer, relative to the output scale s). A
/// trajectory makes 4 N_LF network calls whose errors enter the double updates at most linearly
/// (step sizes < 1 and 1-Lipschitz squashing), and a log-det sums n per-link scale terms whose
/// independent roundings add in quadrature. On the shipped fixtures the measured errors are 100-1000
/// times below these bounds (docs/RUNTIME.md, "float32 networks").
public enum ProbeVerifier {
    public struct Report: Sendable {
        /// Largest |difference| per probe output array.
        public let maxDifferences: [String: Double]
    }

    public static func verify(model: L2ZModel, target: TargetAction, precision: NetworkPrecision = .float64) throws -> Report? {
        guard let probe = model.probe else { return nil }
        if case .flow = model.spec { return try FlowProbe.verify(model: model, probe: probe) }
        let dyn = try L2HMCDynamics(model: model, target: target, capacity: probe.batch)
        if precision != .float64 { dyn.setPrecision(precision) }
        let n = try model.sampler.stateSize, b = probe.batch
        let growth = Double(dyn.networks.map(\.float32RoundingGrowth).max() ?? 0)
        let calls = try Double(4 * model.sampler.dynamics.nLF)
        func widened(_ t: Tolerance, _ expected: [Double], factor: Double) -> Tolerance {
            guard precision != .float64 else { return t }
            return Tolerance(abs: t.abs + float32Widening(growth: growth, factor: factor, expected: expected), rel: t.rel)
        }
        var diffs: [String: Double] = [:]
        for net in probe.networks {
            let tau = try model.sampler.network.timeInput ? try model.doubles(ProbeArrayNames.inT(net)) : nil
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
                let expected = try model.doubles(name)
                diffs[name] = try compare(name, actual: actual, expected: expected, tolerance: widened(probe.headsTolerance, expected, factor: 1), compact: false)
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
            let ex1 = try model.doubles(ProbeArrayNames.Trajectory.x1), ev1 = try model.doubles(ProbeArrayNames.Trajectory.v1)
            let eld = try model.doubles(ProbeArrayNames.Trajectory.logDet)
            diffs[ProbeArrayNames.Trajectory.x1] = try compare(ProbeArrayNames.Trajectory.x1, actual: x1, expected: ex1,
                                                       tolerance: widened(probe.trajectoryTolerance, ex1, factor: calls), compact: compact)
            diffs[ProbeArrayNames.Trajectory.v1] = try compare(ProbeArrayNames.Trajectory.v1, actual: v1, expected: ev1,
                                                       tolerance: widened(probe.trajectoryTolerance, ev1, factor: calls), compact: false)
            diffs[ProbeArrayNames.Trajectory.logDet] = try compare(ProbeArrayNames.Trajectory.logDet, actual: logDet, expected: eld,
                                                            tolerance: widened(probe.logDetTolerance, eld, factor: calls * Double(n).squareRoot()), compact: false)
        }
        return Report(maxDifferences: diffs)
    }

    /// The float32 term added to a stored absolute tolerance: u G factor max(1, max |expected|).
    public static func float32Widening(growth: Double, factor: Double, expected: [Double]) -> Double {
        NetworkPrecision.float32.unitRoundoff * growth * factor * max(1, expected.map { Swift.abs($0) }.max() ?? 0)
    }

    static func compare(_ name: String, actual: [Double], expected: [Double], tolerance: Tolerance, compact: Bool) throws -> Double {
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

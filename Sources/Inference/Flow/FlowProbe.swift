import ModelFormat

/// The probe of a flow file (docs/FORMAT.md 13.4): z, x = f(z), log|det df/dz| and the FT-HMC
/// force dS~/dz at the trained lattice, stored by the producer and recomputed by a reader. x is
/// compared on the circle (the source's angle convention only changes the representative).
public enum FlowProbe {
    /// Default tolerances of a float64 producer: x and the force are sums of a few hundred terms
    /// of size ~1 per layer, so 1e-9 absolute leaves 1e4-1e5 ulp of room; the log-det sums
    /// V/4 site terms per layer.
    public static let tolerances = (x: Tolerance(abs: 1e-9, rel: 1e-9), logDet: Tolerance(abs: 1e-8, rel: 1e-9), force: Tolerance(abs: 1e-8, rel: 1e-8))

    /// Stores a probe of `model` on the rows of `z` [B, n] (trained lattice), replacing any probe.
    public static func attach(to model: inout L2ZModel, z: [Double]) throws {
        let spec = try model.spec.flow()
        let n = spec.stateSize, b = z.count / n
        guard b >= 1, b * n == z.count else {
            throw InferenceError.invalidOption(name: "probe", reason: "a flow probe needs at least one row of \(n) link angles (got \(z.count) values)")
        }
        model.probe = nil
        model.arrays = model.arrays.filter { !$0.key.hasPrefix("probe.") }
        let flow = try FlowMap(model: model, capacity: b)
        var x = [Double](repeating: 0, count: b * n), logDet = [Double](repeating: 0, count: b)
        var force = x, action = logDet
        flow.forward(z: z, rows: b, x: &x, logDet: &logDet)
        flow.tildeAction(z: z, rows: b, force: &force, action: &action)
        model.arrays[FlowProbeArrayNames.z] = try NDArray(shape: [b, n], doubles: z)
        model.arrays[FlowProbeArrayNames.x] = try NDArray(shape: [b, n], doubles: x)
        model.arrays[FlowProbeArrayNames.logDet] = try NDArray(shape: [b], doubles: logDet)
        model.arrays[FlowProbeArrayNames.force] = try NDArray(shape: [b, n], doubles: force)
        model.probe = ProbeSpec(batch: b, networks: [], trajectory: true, headsTolerance: tolerances.force,
                                trajectoryTolerance: tolerances.x, logDetTolerance: tolerances.logDet)
    }

    /// Recomputes the stored probe; `probe.mismatch` names the first array out of tolerance.
    public static func verify(model: L2ZModel, probe: ProbeSpec) throws -> ProbeVerifier.Report {
        let b = probe.batch
        let flow = try FlowMap(model: model, capacity: b)
        let n = flow.stateSize
        let z = try model.doubles(FlowProbeArrayNames.z)
        var x = [Double](repeating: 0, count: b * n), logDet = [Double](repeating: 0, count: b)
        var force = x, action = logDet
        flow.forward(z: z, rows: b, x: &x, logDet: &logDet)
        flow.tildeAction(z: z, rows: b, force: &force, action: &action)
        var diffs: [String: Double] = [:]
        typealias P = FlowProbeArrayNames
        diffs[P.x] = try ProbeVerifier.compare(P.x, actual: x, expected: try model.doubles(P.x), tolerance: probe.trajectoryTolerance, compact: true)
        diffs[P.logDet] = try ProbeVerifier.compare(P.logDet, actual: logDet, expected: try model.doubles(P.logDet), tolerance: probe.logDetTolerance, compact: false)
        diffs[P.force] = try ProbeVerifier.compare(P.force, actual: force, expected: try model.doubles(P.force), tolerance: probe.headsTolerance, compact: false)
        return ProbeVerifier.Report(maxDifferences: diffs)
    }
}

import Foundation
import ModelFormat

/// Turns a trained flow into a `.l2z` model of family `flow` (docs/FORMAT.md section 13), with a
/// probe computed by the trainer's own pass: z uniform on [-pi, pi)^n from SplitMix64(probeSeed)
/// at the trained lattice, x = f(z), log|det J_f(z)| and the FT-HMC force dS~/dz at the trained
/// beta. Kernels and biases are written float64 under their canonical names.
public enum FlowExporter {
    /// Probe tolerances: the runtime and the trainer evaluate the same float64 formulas in a
    /// different order (GEMM blocking, fused loops), so x, the log-det and the force differ by
    /// rounding (~1e-13 after 16 layers); 1e-9 leaves a wide margin and still catches any wrong
    /// weight, mask or sign (O(1e-2) or more on a trained flow).
    public static let tolerance = Tolerance(abs: 1e-9, rel: 1e-8)

    public static func export(_ flow: TrainableFlow, lt: Int, lx: Int, beta: Double, hmc: FlowHMCSettings, provenance: Provenance,
                              probeBatch: Int = 3, probeSeed: UInt64 = 0x7E57) throws -> L2ZModel {
        let spec = FlowSpec(target: U1Lattice(lt: lt, lx: lx, beta: beta, linkLayout: .muTX), coupling: flow.architecture.coupling, hmc: hmc)
        try FlowRules.validate(spec)
        var arrays: [String: NDArray] = [:]
        for slice in flow.params.slices { arrays[slice.name] = try NDArray(shape: slice.shape, doubles: Array(flow.params[slice.name])) }
        var model = L2ZModel(spec: .flow(spec), arrays: arrays, provenance: provenance)
        guard probeBatch > 0 else { return model }
        let lattice = try FlowLattice(lt: lt, lx: lx, kernelSize: flow.architecture.kernelSize)
        var rng = SplitMix64(seed: probeSeed)
        let n = lattice.links
        let z = Matrix(rows: probeBatch, cols: n, data: (0..<(probeBatch * n)).map { _ in (2 * rng.uniform() - 1) * Double.pi })
        let f = flow.forward(z, lattice: lattice)
        let force = flow.force(z, action: FlowGaugeAction(beta: beta, lattice: lattice))
        model.arrays[FlowProbeArrayNames.z] = try NDArray(shape: [probeBatch, n], doubles: z.data)
        model.arrays[FlowProbeArrayNames.x] = try NDArray(shape: [probeBatch, n], doubles: f.x.data)
        model.arrays[FlowProbeArrayNames.logDet] = try NDArray(shape: [probeBatch], doubles: f.logDet)
        model.arrays[FlowProbeArrayNames.force] = try NDArray(shape: [probeBatch, n], doubles: force.data)
        model.probe = ProbeSpec(batch: probeBatch, networks: [], trajectory: true, headsTolerance: tolerance,
                                trajectoryTolerance: tolerance, logDetTolerance: tolerance)
        return model
    }
}

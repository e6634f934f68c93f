/// Deterministic random models: every array the architecture needs, filled from a seed.
///
/// Kernels are Glorot-uniform scaled by `weightScale`, biases and coefficients small normals
/// (never exactly zero, so the zero-parameter warning stays meaningful), step sizes the given
/// values for every step, masks one random half-permutation per step (seed 001 sec. 3); a local
/// network's conv kernels Glorot-uniform over k*k*in and k*k*out, and no masks (a rule).
/// Used for benchmarks, tests and the random-weight fixture; not a trained sampler.
public enum RandomModel {
    public static func make(sampler: SamplerSpec, seed: UInt64, epsX: Double = 0.1, epsV: Double = 0.1,
                            weightScale: Double = 1, provenance: Provenance? = nil) throws -> L2ZModel {
        var rng = SplitMix64(seed: seed)
        var arrays: [String: NDArray] = [:]
        let expected = SamplerRules.expectedArrays(sampler, probe: nil)
        for (name, e) in expected.sorted(by: { $0.key < $1.key }) {
            let count = e.shape.reduce(1, *)
            switch e.role {
            case .stepSize:
                arrays[name] = try NDArray(shape: e.shape, doubles: [Double](repeating: name == "eps_x" ? epsX : epsV, count: count))
            case .mask:
                let n = e.shape[1]
                var bytes: [UInt8] = []
                for _ in 0..<e.shape[0] {
                    var row = [UInt8](repeating: 0, count: n)
                    var indices = Array(0..<n)
                    indices.shuffle(using: &rng)
                    for i in indices.prefix(n / 2) { row[i] = 1 }
                    bytes += row
                }
                arrays[name] = try NDArray(shape: e.shape, uint8s: bytes)
            case .weight where name.hasSuffix("moving_variance") || name.hasSuffix("gamma"):
                arrays[name] = try NDArray(shape: e.shape, doubles: (0..<count).map { _ in 0.5 + rng.uniform() })
            case .weight where e.shape.count == 2:
                let limit = weightScale * (6.0 / Double(e.shape[0] + e.shape[1])).squareRoot()
                arrays[name] = try NDArray(shape: e.shape, doubles: (0..<count).map { _ in limit * (2 * rng.uniform() - 1) })
            case .weight where e.shape.count == 4:
                // A local network's conv kernel [k, k, in, out]: Glorot with fans k*k*in and k*k*out.
                let area = e.shape[0] * e.shape[1]
                let limit = weightScale * (6.0 / Double(area * (e.shape[2] + e.shape[3]))).squareRoot()
                arrays[name] = try NDArray(shape: e.shape, doubles: (0..<count).map { _ in limit * (2 * rng.uniform() - 1) })
            case .weight, .bias:
                arrays[name] = try NDArray(shape: e.shape, doubles: (0..<count).map { _ in 0.01 * rng.normal() })
            case .probe, .extensionArray:
                break
            }
        }
        let prov = provenance ?? Provenance(producer: "l2hmc-swift", producerVersion: ModelFormatInfo.version,
                                            source: "random initialization, seed \(seed)")
        return L2ZModel(sampler: sampler, arrays: arrays, provenance: prov)
    }
}

extension RandomModel {
    /// A flow with every kernel and bias uniform in +-weightScale/sqrt(fan_in), fan_in = k*k*c_in
    /// (PyTorch's default Conv2d initialization at weightScale 1). Not a trained flow.
    public static func make(flow: FlowSpec, seed: UInt64, weightScale: Double = 1, provenance: Provenance? = nil) throws -> L2ZModel {
        var rng = SplitMix64(seed: seed)
        var arrays: [String: NDArray] = [:]
        let k = flow.coupling.kernelSize
        for layer in 0..<flow.coupling.layers {
            for (j, ch) in flow.coupling.convolutionChannels.enumerated() {
                let limit = weightScale / Double(k * k * ch.cIn).squareRoot()
                arrays[FlowRules.kernelName(layer: layer, conv: j)] = try NDArray(shape: [k, k, ch.cIn, ch.cOut], doubles: (0..<(k * k * ch.cIn * ch.cOut)).map { _ in limit * (2 * rng.uniform() - 1) })
                arrays[FlowRules.biasName(layer: layer, conv: j)] = try NDArray(shape: [ch.cOut], doubles: (0..<ch.cOut).map { _ in limit * (2 * rng.uniform() - 1) })
            }
        }
        let prov = provenance ?? Provenance(producer: "l2hmc-swift", producerVersion: ModelFormatInfo.version,
                                            source: "random initialization, seed \(seed)")
        return L2ZModel(spec: .flow(flow), arrays: arrays, provenance: prov)
    }
}

/// Version information of this library.
public enum ModelFormatInfo {
    /// The version of the package: written in provenance and checkpoints, printed by every
    /// tool's `--version` (the one place it is spelled).
    public static let version = "0.1.0"
}

/// Low-rank compression of every dense layer of a sampler's networks (seed 001, AI7): each kernel
/// K [in, out] is replaced by its truncated SVD U_r S_r V_r^T, evaluated as two GEMMs. The
/// proposal changes; the kernel stays exactly reversible, because forward and backward use the
/// same compressed networks. A local network's conv kernels are compressed as the matrices
/// [k k C_in, C_out] (rows in (p, q, c) order), its heads and time layer like dense layers; a
/// convolution stack's dense layer like a dense layer, its conv kernels not at all.
extension L2HMCDynamics {
    /// What compression did to one layer.
    public struct LayerCompression: Sendable {
        public let network: String
        public let layer: String
        public let rows: Int, cols: Int
        public let rank: Int
        /// Fraction of sum s_i^2 kept (1 when the layer was left whole).
        public let energyRetained: Double
    }

    public enum CompressionTarget: Sendable {
        /// The same rank R for every layer (layers with min(in, out) <= R stay whole).
        case rank(Int)
        /// Per layer, the smallest rank keeping this fraction of sum s_i^2.
        case energy(Double)
    }

    /// Compresses every dense layer of every network; returns the per-layer report.
    @discardableResult
    public func compress(_ target: CompressionTarget) throws -> [LayerCompression] {
        switch target {
        case let .rank(r) where r < 1: throw InferenceError.invalidOption(name: "--lowrank", reason: "rank must be >= 1 (got \(r))")
        case let .energy(f) where !(f > 0 && f <= 1): throw InferenceError.invalidOption(name: "--lowrank-energy", reason: "fraction must be in (0, 1] (got \(f))")
        default: break
        }
        var report: [LayerCompression] = []
        for (netName, layers) in layerGroups {
            for (name, layer) in layers {
                let svd: TruncatedSVD
                do { svd = try layer.svd() } catch { throw InferenceError.lapack("\(netName).\(name): \(error)") }
                let full = min(layer.inputs, layer.outputs)
                let rank: Int
                switch target {
                case let .rank(r): rank = min(r, full)
                case let .energy(f): rank = svd.rank(keepingEnergy: f)
                }
                let kept = try layer.compress(rank: rank, svd: svd)
                report.append(LayerCompression(network: netName, layer: name, rows: layer.inputs, cols: layer.outputs, rank: layer.rank, energyRetained: kept))
            }
        }
        refreshWorkspace()
        return report
    }

    /// Every network's layers (dense or local), by network name. A convolution stack adds its
    /// dense layer [F, D] (rows held in (t, x, c) order: a row permutation of the stored matrix,
    /// with the same singular values); its conv kernels stay full rank.
    private var layerGroups: [(String, [(String, DenseLayer)])] {
        if let local { return local.networks.map { ($0.name, $0.layers) } }
        return networks.map { net in (net.name, net.layers + (net.convStack.map { [("conv_stack.dense", $0.dense)] } ?? [])) }
    }

    /// Singular values of every dense layer (for `l2hmc-run svd`).
    public func spectra() throws -> [(network: String, layer: String, rows: Int, cols: Int, values: [Double])] {
        try layerGroups.flatMap { (netName, layers) in
            try layers.map { (name, layer) in
                let s: TruncatedSVD
                do { s = try layer.svd() } catch { throw InferenceError.lapack("\(netName).\(name): \(error)") }
                return (netName, name, layer.inputs, layer.outputs, s.singularValues)
            }
        }
    }

    /// Multiply-adds per chain of one trajectory (four network calls per step, every dense layer
    /// except the time layer: the benchmark FLOP model divided by two).
    public var multiplyAddsPerChainTrajectory: Int {
        if let local {
            return local.geometry.volume * plan.steps.reduce(0) { total, step in
                total + 2 * local.vNets[step.network].multiplyAddsPerSite + local.xNetsFirst[step.network].multiplyAddsPerSite
                    + local.xNetsSecond[step.network].multiplyAddsPerSite
            }
        }
        return plan.steps.reduce(0) { total, step in
            total + 2 * vNets[step.network].multiplyAddsPerRow + xNetsFirst[step.network].multiplyAddsPerRow + xNetsSecond[step.network].multiplyAddsPerRow
        }
    }
}

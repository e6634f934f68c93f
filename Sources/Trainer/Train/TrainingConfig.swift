import CFileSystem
import Foundation
import ModelFormat

/// Every setting of a training run. Read from JSON (strict: unknown keys are errors) and from
/// command-line flags with the same names; validated before training starts.
public struct TrainingConfig: Sendable, Equatable {
    public enum TargetKind: String, CaseIterable, Sendable { case u1, gmm }
    /// The kind of every network: dense layers over all coordinates, or local (periodic
    /// convolutions over the sites of a U(1) lattice, heads per link; ``NetworkKind``).
    public enum NetworkKindChoice: String, CaseIterable, Sendable { case dense, local }

    public var target: TargetKind = .u1
    // U(1)
    public var lattice: [Int] = [8, 8]
    public var betaInit: Double = 2
    public var betaFinal: Double = 4
    // Mixture (default: the seed's two modes at (+-2, 0), covariance 0.1 I)
    public var mixtureMeans: [[Double]] = [[-2, 0], [2, 0]]
    public var mixtureVariance: Double = 0.1
    public var mixtureWeights: [Double] = [0.5, 0.5]
    public var temperatureInit: Double = 10
    public var temperatureFinal: Double = 1
    // Sampler
    public var nLF: Int = 4
    public var epsInit: Double = 0.1
    public var networkKind: NetworkKindChoice = .dense
    /// Dense networks: widths of the hidden layers.
    public var hiddenUnits: [Int] = [64, 64]
    /// Local networks: odd side k of every convolution kernel.
    public var kernelSize: Int = 3
    /// Local networks: channels per site of each convolution layer.
    public var channels: [Int] = [16, 16]
    public var activation: Activation = .relu
    public var layout: NetworkLayout = .shared
    public var xNetworksPerStep: Int = 1
    public var xInput: InputEncoding = .cosSinBlocks
    public var maskPlacement: MaskPlacement = .beforeTrig
    public var timeInput = true
    /// nil: ncp for U(1), linear for mixtures.
    public var xUpdate: XUpdateForm?
    public var translationSign: TranslationSign = .plus
    public var xScale = true
    public var kernelScale: Double = 1
    // Optimization
    public var chains: Int = 64
    /// Chains per tile (``Tiling``): the unit of work of a thread or process, and of every GEMM.
    /// Changes the numbers (rounding of the sums), unlike `threads`.
    public var tile: Int = 16
    public var steps: Int = 1000
    public var seed: UInt64 = 1
    public var learningRate: Double = 1e-3
    public var learningRateDecay: Double = 0.96
    public var learningRateDecaySteps: Int = 500
    public var clipNorm: Double = 100
    public var loss = LossSettings()
    // Output
    /// Checkpoint every this many steps (0: no step-based checkpoints).
    public var checkpointEvery: Int = 0
    /// Also checkpoint once this many seconds of wall time have passed since the last
    /// checkpoint (0: no time-based checkpoints). Wall time decides only *when* the state is
    /// saved, never what is computed, so results do not depend on it.
    public var checkpointSeconds: Double = 120
    public var logEvery: Int = 10
    // Execution
    /// Worker threads (nil: auto, the cores this process may use, at most the tile count).
    /// Never changes the numbers; not recorded in checkpoints or models.
    public var threads: Int?

    public init() {}

    /// The sampler this configuration trains.
    public func samplerSpec() -> SamplerSpec {
        var weights = NetWeights.all(1)
        if !xScale { weights.xScale = 0 }
        switch target {
        case .u1:
            let network: NetworkSpec
            switch networkKind {
            case .dense:
                network = NetworkSpec(layout: layout, xNetworksPerStep: xNetworksPerStep, xNetInput: xInput, vNetInput: .raw,
                                      maskPlacement: xInput == .raw ? nil : maskPlacement, timeInput: timeInput,
                                      hiddenUnits: hiddenUnits, activation: activation)
            case .local:
                network = .local(LocalNetworkSpec(kernelSize: kernelSize), layout: layout, xNetworksPerStep: xNetworksPerStep,
                                 timeInput: timeInput, channels: channels, activation: activation)
            }
            return SamplerSpec(target: .u1(U1Lattice(lt: lattice[0], lx: lattice[1], beta: betaFinal)),
                               dynamics: Dynamics(nLF: nLF, xUpdate: xUpdate ?? .ncp, translationSign: translationSign),
                               network: network, netWeights: weights)
        case .gmm:
            let d = mixtureMeans.first?.count ?? 0
            let cov = (0..<d).map { i in (0..<d).map { $0 == i ? mixtureVariance : 0 } }
            return SamplerSpec(target: .gaussianMixture(GaussianMixture(dimension: d, weights: mixtureWeights, means: mixtureMeans,
                                                                        covariances: [[[Double]]](repeating: cov, count: mixtureMeans.count))),
                               dynamics: Dynamics(nLF: nLF, xUpdate: .linear, translationSign: translationSign),
                               network: NetworkSpec(layout: layout, xNetworksPerStep: xNetworksPerStep, xNetInput: .raw, vNetInput: .raw,
                                                    maskPlacement: nil, timeInput: timeInput, hiddenUnits: hiddenUnits, activation: activation),
                               netWeights: weights)
        }
    }

    /// The coupling used at training step `n` of `steps`: beta(n) with 1/beta linear from
    /// 1/beta_i to 1/beta_f (seed eq. 49, factor 1 - n/N), or 1/T(n) with T linear from T_i to
    /// T_f (eq. 41).
    public func scale(atStep n: Int) -> Double {
        let f = 1 - Double(n) / Double(max(steps, 1))
        switch target {
        case .u1: return 1 / ((1 / betaInit - 1 / betaFinal) * f + 1 / betaFinal)
        case .gmm: return 1 / ((temperatureInit - temperatureFinal) * f + temperatureFinal)
        }
    }

    /// Largest count accepted for n_lf, chains, a hidden width or a mixture dimension (keeps every
    /// size product far from integer overflow; the memory estimate is the real limit).
    public static let maxCount = 1 << 20
    public static let maxThreads = 1024
    public static let maxSteps = 1 << 40

    /// The machine's physical memory: a run estimated to need more is refused before allocating.
    public static var memoryLimit: Double { Double(ProcessInfo.processInfo.physicalMemory) }

    /// A generous upper estimate of the bytes training needs, computed in floating point (no
    /// overflow): the parameters four times (values, two Adam moments, gradient) and, for the
    /// backward pass, every network call's activations (input, hidden layers, three heads) for
    /// every chain, leapfrog step and call (v twice, x twice per step), times four for
    /// intermediates and twice with an auxiliary batch; plus the chain states. Local networks
    /// keep per site the 8 features and every layer's pre- and post-activations, and build one
    /// im2col matrix (k^2 times a layer's input) at a time.
    public var estimatedBytes: Double {
        let n: Double
        switch target {
        case .u1: n = 2 * Double(lattice.first ?? 0) * Double(lattice.last ?? 0)
        case .gmm: n = Double(mixtureMeans.first?.count ?? 0)
        }
        let nets = Double(layout == .shared ? 1 : nLF) * Double(1 + xNetworksPerStep)
        let perNet: Double, perCall: Double
        if networkKind == .local && target == .u1 {
            let c = [8.0] + channels.map(Double.init), kk = Double(kernelSize * kernelSize), sites = n / 2
            var weights = 3 * c[1] + 3 * (2 * c[c.count - 1] + 2) + 4 + 4 * c[c.count - 1]
            for (a, b) in zip(c, c.dropFirst()) { weights += kk * a * b + b }
            perNet = weights
            perCall = sites * (8 + 2 * channels.map(Double.init).reduce(0, +) + 6 + kk * (c.max() ?? 0)) + 3 * n
        } else {
            let widths = hiddenUnits.map(Double.init)
            let input = 2 * n + 2
            var weights = input * (widths.first ?? 0) + 3 * n * (widths.last ?? 0) + widths.reduce(0, +) + 3 * n
            for (a, b) in zip(widths, widths.dropFirst()) { weights += a * b }
            perNet = weights
            perCall = input + widths.reduce(0, +) + 3 * n
        }
        let params = nets * perNet
        let activations = Double(chains) * Double(nLF) * 4 * perCall * 4 * (loss.auxWeight > 0 ? 2 : 1)
        let tileGradients = Double(tiling.count) * params
        return 8 * (4 * params + activations + tileGradients + 8 * Double(chains) * n)
    }

    /// The tiles of this configuration's chains.
    public var tiling: Tiling { Tiling(chains: chains, size: tile) }

    /// The worker threads a training uses: `threads`, or (auto) the cores this process may use
    /// (its CPU affinity mask: `taskset`, a batch scheduler, `mpirun`'s binding), at most the tile count.
    public var effectiveThreads: Int {
        if let threads { return threads }
        let mask = Int(l2hmc_affinity_cpu_count())
        let cores = mask >= 1 ? min(mask, ProcessInfo.processInfo.activeProcessorCount) : ProcessInfo.processInfo.activeProcessorCount
        return max(1, min(cores, tiling.count))
    }

    /// Staircase exponential decay: lr * decay^floor(n / decaySteps).
    public func learningRate(atStep n: Int) -> Double {
        learningRate * pow(learningRateDecay, Double(n / max(learningRateDecaySteps, 1)))
    }
}

extension TrainingConfig {
    /// A configuration error: one line naming the key, what it must be and what it was.
    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public let key: String
        public let reason: String
        /// Key and reason may quote a configuration file: control characters are escaped.
        public var description: String { "[train.invalid_config] \(UntrustedText.escaped(key)): \(UntrustedText.escaped(reason))" }
        public init(key: String, reason: String) { self.key = key; self.reason = reason }
    }

    /// Rejects configurations that cannot train, before anything runs.
    public func validate() throws {
        func check(_ ok: Bool, _ key: String, _ reason: String) throws { if !ok { throw Invalid(key: key, reason: reason) } }
        try check(nLF >= 1, "n_lf", "must be >= 1 (got \(nLF))")
        try check(nLF <= Self.maxCount, "n_lf", "must be <= \(Self.maxCount) (got \(nLF))")
        try check(epsInit > 0 && epsInit.isFinite, "eps_init", "must be > 0 (got \(epsInit))")
        try check(!hiddenUnits.isEmpty && hiddenUnits.allSatisfy { $0 >= 1 }, "hidden_units", "must be a non-empty list of positive widths (got \(hiddenUnits))")
        try check(hiddenUnits.count <= 64 && hiddenUnits.allSatisfy { $0 <= Self.maxCount }, "hidden_units", "at most 64 layers of at most \(Self.maxCount) units")
        try check(kernelSize >= 1 && kernelSize <= LocalNetworkRules.maxKernelSize && kernelSize % 2 == 1, "kernel_size",
                  "must be odd and in 1...\(LocalNetworkRules.maxKernelSize): the kernel is centred on its site (got \(kernelSize))")
        try check(!channels.isEmpty && channels.allSatisfy { $0 >= 1 }, "channels", "must be a non-empty list of positive channel counts (got \(channels))")
        try check(channels.count <= 64 && channels.allSatisfy { $0 <= LocalNetworkRules.maxChannels }, "channels",
                  "at most 64 layers of at most \(LocalNetworkRules.maxChannels) channels")
        try check(xNetworksPerStep == 1 || xNetworksPerStep == 2, "x_networks_per_step", "must be 1 or 2 (got \(xNetworksPerStep))")
        try check(chains >= 1, "chains", "must be >= 1 (got \(chains))")
        try check(chains <= Self.maxCount, "chains", "must be <= \(Self.maxCount) (got \(chains))")
        try check(tile >= 1 && tile <= Self.maxCount, "tile", "must be in 1...\(Self.maxCount) (got \(tile))")
        if let threads {
            try check(threads >= 1 && threads <= Self.maxThreads, "threads", "must be in 1...\(Self.maxThreads) or auto (got \(threads))")
            try check(threads <= tiling.count, "threads",
                      "must be at most the number of tiles, \(tiling.count) (chains \(chains) in tiles of \(tile)); more threads would have no work (got \(threads))")
        }
        try check(steps >= 1, "steps", "must be >= 1 (got \(steps))")
        try check(steps <= Self.maxSteps, "steps", "must be <= \(Self.maxSteps) (got \(steps))")
        try check(learningRate > 0, "learning_rate", "must be > 0 (got \(learningRate))")
        try check(learningRateDecay > 0 && learningRateDecay <= 1, "learning_rate_decay", "must be in (0, 1] (got \(learningRateDecay))")
        try check(learningRateDecaySteps >= 1, "learning_rate_decay_steps", "must be >= 1 (got \(learningRateDecaySteps))")
        try check(clipNorm >= 0, "clip_norm", "must be >= 0 (0 disables clipping; got \(clipNorm))")
        try check(loss.lambda > 0, "lambda", "must be > 0 (got \(loss.lambda))")
        try check(loss.lambdaPlaquette > 0, "lambda_plaquette", "must be > 0")
        try check(loss.lambdaCharge > 0, "lambda_charge", "must be > 0")
        try check(loss.auxWeight >= 0, "aux_weight", "must be >= 0 (got \(loss.auxWeight))")
        try check(kernelScale > 0, "kernel_scale", "must be > 0")
        try check(checkpointEvery >= 0, "checkpoint_every", "must be >= 0 (0: no step-based checkpoints)")
        try check(checkpointSeconds >= 0 && checkpointSeconds.isFinite, "checkpoint_seconds", "must be >= 0 (0: no time-based checkpoints; got \(checkpointSeconds))")
        try check(logEvery >= 1, "log_every", "must be >= 1")
        switch target {
        case .u1:
            try check(lattice.count == 2 && lattice.allSatisfy { $0 >= 1 && $0 <= 4096 }, "lattice", "must be [lt, lx] with positive sizes (got \(lattice))")
            try check(betaInit > 0 && betaFinal > 0, "beta_init/beta_final", "must be > 0 (got \(betaInit), \(betaFinal))")
            try check(betaFinal >= betaInit, "beta_final", "must be >= beta_init (annealing goes from hot to cold; got \(betaInit) -> \(betaFinal))")
            try check(xUpdate != .linear || !xScale, "x_update", "\"linear\" on U(1) requires x_scale false: scaling then wrapping an angle is not a bijection")
        case .gmm:
            let d = mixtureMeans.first?.count ?? 0
            try check(d >= 1 && mixtureMeans.allSatisfy { $0.count == d }, "mixture_means", "must be a list of equal-length vectors")
            try check(d <= Self.maxCount && mixtureMeans.count <= 4096, "mixture_means", "at most 4096 modes of dimension at most \(Self.maxCount)")
            try check(mixtureMeans.allSatisfy { $0.allSatisfy(\.isFinite) }, "mixture_means", "must be finite")
            try check(mixtureWeights.count == mixtureMeans.count && mixtureWeights.allSatisfy { $0 > 0 } && abs(mixtureWeights.reduce(0, +) - 1) < 1e-9,
                      "mixture_weights", "must be \(mixtureMeans.count) positive numbers summing to 1")
            try check(mixtureVariance > 0, "mixture_variance", "must be > 0")
            try check(temperatureInit > 0 && temperatureFinal > 0 && temperatureInit >= temperatureFinal, "temperature_init/final",
                      "must be > 0 with temperature_init >= temperature_final")
            try check(xUpdate != .ncp, "x_update", "must be \"linear\" for a mixture (R^D)")
            try check(networkKind == .dense, "network_kind", "must be dense for a mixture: local networks act on the sites of a U(1) lattice")
            try check(loss.plaquetteWeight == 0 && loss.chargeWeight == 0, "plaquette_weight/charge_weight", "apply to U(1) only")
        }
        let need = estimatedBytes, limit = Self.memoryLimit
        try check(need <= limit, networkKind == .local ? "chains/lattice/n_lf/channels" : "chains/lattice/n_lf/hidden_units",
                  String(format: "training would need about %.3g GB, more than the %.3g GB of this machine", need / 1e9, limit / 1e9))
    }
}

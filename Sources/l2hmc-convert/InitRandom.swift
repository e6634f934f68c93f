import ArgumentParser
import CLISupport
import Converter
import Foundation
import Inference
import ModelFormat

struct InitRandom: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init-random",
        abstract: "Write a model with deterministic random weights (for tests, benchmarks and fixtures).",
        discussion: "Not a trained sampler: use it to exercise the format and the runtime. The same options and seed give a byte-identical file.")

    enum TargetKind: String, ExpressibleByArgument, CaseIterable {
        case u1
        /// The seed's two-mode example: modes at (-2, 0) and (2, 0), covariance 0.1 I, equal weights.
        case gmm

        /// `gmm2`, the older spelling, is accepted and not shown.
        init?(argument: String) { self.init(rawValue: argument == "gmm2" ? "gmm" : argument) }
    }

    @Option(help: "Target: u1 (2D U(1) lattice) or gmm (the seed's two-mode Gaussian mixture).")
    var target: TargetKind = .u1
    @Option(help: "Write a U(1) normalizing flow (family flow, docs/FORMAT.md section 13) with this many coupling layers instead of an L2HMC model (--lattice sides multiples of 4; --hidden-units are its channels; --nlf and --eps its FT-HMC defaults).")
    var flowLayers: Int?
    @Option(help: "Flow: mixture components (default 2).")
    var nMix = 2
    @Option(help: "Flow: odd convolution kernel size (default 3).")
    var kernelSize = 3
    @Option(help: "Flow: activation leaky_relu, swish, relu, tanh or linear (default leaky_relu).")
    var activation = "leaky_relu"
    @Option(help: "U(1) lattice as LTxLX.")
    var lattice = "4x4"
    @Option(help: "U(1) inverse coupling beta (> 0).")
    var beta = 2.0
    @Option(help: "Number of leapfrog steps (>= 1).")
    var nlf = 2
    @Option(help: "Hidden units, comma separated.")
    var hiddenUnits = "16,16"
    @Option(name: .customLong("units"), help: .hidden) var unitsAlias: String?   // the older spelling
    @Option(name: .customLong("n-lf"), help: .hidden) var nLfAlias: Int?   // the other tools' older spelling
    @Option(help: "Network layout: shared or per_step.")
    var layout = "shared"
    @Option(help: "x-networks per leapfrog step: 1 or 2.")
    var xNets = 1
    @Option(help: "x-network input for U(1): raw, cos_sin_blocks or cos_sin_interleaved.")
    var xInput = "cos_sin_blocks"
    @Option(help: "x update for U(1): ncp or linear (linear forces the x-scale net weight to 0).")
    var xUpdate = "ncp"
    @Option(help: "Step size of x and v updates (> 0).")
    var eps = 0.1
    @Option(help: "Random seed.")
    var seed: UInt64 = 1
    @Option(help: "Multiplier of the Glorot-uniform kernel scale (smaller: closer to plain HMC).")
    var weightScale = 1.0
    @Flag(inversion: .prefixedNo, help: "Store a probe computed by this runtime (networks and one trajectory).")
    var probe = true
    @Option(name: .shortAndLong, help: "Output .l2z path.")
    var out: String
    @Flag(help: "Replace an existing output file.")
    var force = false

    private var units: String { unitsAlias ?? hiddenUnits }
    private var steps: Int { nLfAlias ?? nlf }

    func validate() throws {
        guard steps >= 1 else { throw ValidationError("--nlf must be >= 1 (got \(steps))") }
        guard eps > 0 else { throw ValidationError("--eps must be > 0 (got \(eps))") }
        guard beta > 0 else { throw ValidationError("--beta must be > 0 (got \(beta))") }
        guard weightScale > 0 && weightScale.isFinite else { throw ValidationError("--weight-scale must be > 0 (got \(weightScale))") }
        guard xNets == 1 || xNets == 2 else { throw ValidationError("--x-nets must be 1 or 2 (got \(xNets))") }
    }

    func run() throws {
        if let layers = flowLayers { return try writeFlow(layers: layers) }
        let hidden = units.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !hidden.isEmpty, hidden.count == units.split(separator: ",").count, hidden.allSatisfy({ $0 >= 1 }) else {
            throw ValidationError("--hidden-units must be a comma-separated list of positive integers (got \(units))")
        }
        guard let netLayout = NetworkLayout(rawValue: layout) else { throw ValidationError("--layout must be shared or per_step (got \(layout))") }
        let sampler: SamplerSpec
        switch target {
        case .u1:
            // No upper limit here: SamplerRules names the manifest's limit on lt and lx.
            let size = try LatticeSize.option(lattice, limited: false)
            guard let enc = InputEncoding(rawValue: xInput) else { throw ValidationError("--x-input must be raw, cos_sin_blocks or cos_sin_interleaved") }
            guard let form = XUpdateForm(rawValue: xUpdate) else { throw ValidationError("--x-update must be ncp or linear") }
            var weights = NetWeights.all(1)
            if form == .linear { weights.xScale = 0 }
            sampler = SamplerSpec(
                target: .u1(U1Lattice(lt: size.lt, lx: size.lx, beta: beta)),
                dynamics: Dynamics(nLF: steps, xUpdate: form),
                network: NetworkSpec(layout: netLayout, xNetworksPerStep: xNets, xNetInput: enc, vNetInput: .raw,
                                     maskPlacement: enc == .raw ? nil : .beforeTrig, timeInput: true, hiddenUnits: hidden),
                netWeights: weights)
        case .gmm:
            let cov = [[0.1, 0.0], [0.0, 0.1]]
            sampler = SamplerSpec(
                target: .gaussianMixture(GaussianMixture(dimension: 2, weights: [0.5, 0.5], means: [[-2, 0], [2, 0]], covariances: [cov, cov])),
                dynamics: Dynamics(nLF: steps, xUpdate: .linear),
                network: NetworkSpec(layout: netLayout, xNetworksPerStep: xNets, xNetInput: .raw, vNetInput: .raw,
                                     maskPlacement: nil, timeInput: true, hiddenUnits: hidden))
        }
        // Refuse impossible sizes before allocating: the manifest limits, then the parameter
        // count against what a reader accepts (the .l2z file-size limit).
        do { try SamplerRules.validate(sampler) } catch { fail(error) }
        let elements = SamplerRules.expectedArrays(sampler, probe: nil).values.reduce(0.0) { $0 + $1.shape.reduce(1.0) { $0 * Double($1) } }
        let limit = Double(ReadLimits().maxFileBytes)
        guard elements * 8 <= limit else {
            failConvert(ConvertError.optionNotAccepted(option: "--lattice/--hidden-units/--nlf", reason: "the model would hold \(Int(elements)) parameters (\(Int(elements * 8 / 1048576)) MiB), more than a .l2z reader accepts (\(Int(limit / 1048576)) MiB); use a smaller lattice, fewer or narrower layers, or fewer steps"))
        }
        do {
            var model = try RandomModel.make(sampler: sampler, seed: seed, epsX: eps, epsV: eps, weightScale: weightScale)
            if probe { try ProbeBuilder.addProbe(to: &model, target: makeTarget(sampler.target)) }
            try L2ZWriter.write(model, to: out, replaceExisting: force)
        } catch {
            fail(error)
        }
        print("wrote \(out)")
    }

    /// A flow with weights uniform in +-weightScale/sqrt(fan_in) and a probe of three rows.
    private func writeFlow(layers: Int) throws {
        guard target == .u1 else { throw ValidationError("--flow-layers needs --target u1") }
        let hidden = units.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard hidden.count == units.split(separator: ",").count, hidden.allSatisfy({ $0 >= 1 }) else {
            throw ValidationError("--hidden-units must be a comma-separated list of positive integers (got \(units))")
        }
        guard let act = Activation(rawValue: activation) else {
            throw ValidationError("--activation must be one of \(Activation.allCases.map(\.rawValue).joined(separator: ", ")) (got \(activation))")
        }
        let size = try LatticeSize.option(lattice, limited: false)
        let spec = FlowSpec(target: U1Lattice(lt: size.lt, lx: size.lx, beta: beta, linkLayout: .muTX),
                            coupling: FlowCoupling(layers: layers, nMix: nMix, kernelSize: kernelSize, hiddenChannels: hidden,
                                                   activation: act, angleConvention: .minusPiToPi),
                            hmc: FlowHMCSettings(stepSize: eps, nLF: steps))
        do {
            try FlowRules.validate(spec)
            var model = try RandomModel.make(flow: spec, seed: seed, weightScale: weightScale)
            if probe {
                var rng = SplitMix64(seed: seed ^ 0x9E37_79B9)
                try FlowProbe.attach(to: &model, z: (0..<(3 * spec.stateSize)).map { _ in 2 * .pi * rng.uniform() - .pi })
            }
            try L2ZWriter.write(model, to: out, replaceExisting: force)
        } catch {
            fail(error)
        }
        print("wrote \(out)")
    }
}

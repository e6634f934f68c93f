import Foundation
import ModelFormat

/// The L2HMC trajectory of the trainer: forward pass with a tape, and the exact reverse-mode
/// gradient of any function of (x', v', logdet) with respect to every parameter.
///
/// Same mathematics as docs/FORMAT.md sec. 5 (and the runtime), written independently: step k
/// uses network k (or 0 when shared), mask m^k, tau_k = (cos 2 pi k/N, sin 2 pi k/N) and step
/// sizes eps = exp(log_eps[k]). The backward direction applies the inverse sub-updates in
/// reverse order. Each sub-update is a ``SubUpdateRule`` with its forward and backward rule side
/// by side (``VHalfStep``, ``MaskedXUpdate``, and within them ``ScaleMap`` and ``VLogDet``); this
/// type only sequences them and keeps the tape. The force's dependence on x enters the gradient
/// through the target's Hessian-vector product.
struct TrainerDynamics {
    let spec: SamplerSpec
    let target: TrainingTarget
    let vNets: [SubUpdateNetwork]
    let xFirst: [SubUpdateNetwork]
    let xSecond: [SubUpdateNetwork]
    /// m^k as 0/1 doubles: the coordinates the first x update of step k changes.
    let masks: [[Double]]

    var nLF: Int { spec.dynamics.nLF }
    var projected: Bool { spec.dynamics.xUpdate == .ncp }
    var sigma: Double { Double(spec.dynamics.translationSign.rawValue) }

    /// Dense networks read x through their input encodings; local networks (U(1) only:
    /// ``TrainerModel`` refuses anything else before building dynamics) read the per-site
    /// features of the target's lattice.
    init(spec: SamplerSpec, target: TrainingTarget, masks: [[Double]]) {
        self.spec = spec
        self.target = target
        self.masks = masks
        let n = spec.stateSize, net = spec.network
        let steps = net.layout == .shared ? 1 : spec.dynamics.nLF
        let vEncoder = TrainEncoder(encoding: net.vNetInput, placement: nil, stateSize: n)
        let xEncoder = TrainEncoder(encoding: net.xNetInput, placement: net.maskPlacement, stateSize: n)
        func make(_ name: String, _ role: LocalSiteFeatures.Role) -> SubUpdateNetwork {
            let scaleCoefficient = net.scaleHead == .tanhExpCoeff, transformationCoefficient = net.transformationHead == .tanhExpCoeff
            if let local = net.kind.local {
                guard case let .u1(lattice) = spec.target else { preconditionFailure("local networks act on U(1) lattices") }
                return .local(TrainableLocalNetwork(name: name, role: role, lattice: LocalLattice(lattice), kernelSize: local.kernelSize,
                                                    channels: net.hiddenUnits, activation: net.activation, timeInput: net.timeInput,
                                                    scaleCoefficient: scaleCoefficient, transformationCoefficient: transformationCoefficient,
                                                    batchNormEpsilon: net.batchNorm?.epsilon))
            }
            let encoder = role == .v ? vEncoder : xEncoder
            return .dense(TrainableNetwork(name: name, stateSize: n, xWidth: encoder.width, units: net.hiddenUnits, activation: net.activation,
                                           timeInput: net.timeInput, scaleCoefficient: scaleCoefficient,
                                           transformationCoefficient: transformationCoefficient), encoder: encoder)
        }
        vNets = (0..<steps).map { make("vnet.\($0)", .v) }
        if net.xNetworksPerStep == 2 {
            xFirst = (0..<steps).map { make("xnet_first.\($0)", .x) }
            xSecond = (0..<steps).map { make("xnet_second.\($0)", .x) }
        } else {
            xFirst = (0..<steps).map { make("xnet.\($0)", .x) }
            xSecond = xFirst
        }
    }

    /// Every distinct network, in parameter order (v-networks, first x-networks, second).
    var networks: [SubUpdateNetwork] {
        var seen = Set<String>()
        return (vNets + xFirst + xSecond).filter { seen.insert($0.name).inserted }
    }

    func networkIndex(_ k: Int) -> Int { spec.network.layout == .shared ? 0 : k }
    func tau(_ k: Int) -> [Double]? {
        spec.network.timeInput ? [cos(2 * .pi * Double(k) / Double(nLF)), sin(2 * .pi * Double(k) / Double(nLF))] : nil
    }

    /// The network of sub-update `stage` of step k.
    func network(_ stage: TrajectoryStage, step k: Int) -> SubUpdateNetwork {
        switch stage {
        case .v1, .v2: return vNets[networkIndex(k)]
        case .x1: return xFirst[networkIndex(k)]
        case .x2: return xSecond[networkIndex(k)]
        }
    }

    func vHalfStep(_ k: Int, _ stage: TrajectoryStage) -> VHalfStep {
        VHalfStep(step: k, net: network(stage, step: k), target: target, tau: tau(k), sigma: sigma)
    }

    func xUpdate(_ k: Int, _ stage: TrajectoryStage) -> MaskedXUpdate {
        let m = masks[k]
        return MaskedXUpdate(step: k, net: network(stage, step: k), target: target, tau: tau(k),
                             update: stage == .x1 ? m : m.map { 1 - $0 }, projected: projected)
    }

    struct Result {
        var x: Matrix
        var v: Matrix
        var logDet: [Double]
        /// Every sub-update in the order applied.
        var tape: [TapeEntry]
    }

    // MARK: Forward

    /// Runs the trajectory forward (or backward: the inverse sub-updates in reverse order) for all
    /// rows, recording every sub-update on the tape.
    func run(x0: Matrix, v0: Matrix, forward: Bool, params: ParameterStore, scale: Double, weights: NetWeights) -> Result {
        var state = PhaseSpace(x: x0, v: v0)
        var logDet = [Double](repeating: 0, count: x0.rows)
        var tape: [TapeEntry] = []
        let epsX = params["log_eps_x"].map { exp($0) }, epsV = params["log_eps_v"].map { exp($0) }
        let steps = forward ? Array(0..<nLF) : Array((0..<nLF).reversed())
        for k in steps {
            for stage in TrajectoryStage.order(forward: forward) {
                let record: SubUpdateRecord
                if stage.updatesMomenta {
                    record = .v(vHalfStep(k, stage).forward(&state, logDet: &logDet, inverse: !forward, eps: epsV[k], params: params,
                                                            scale: scale, weights: weights))
                } else {
                    record = .x(xUpdate(k, stage).forward(&state, logDet: &logDet, inverse: !forward, eps: epsX[k], params: params,
                                                          scale: scale, weights: weights))
                }
                tape.append(TapeEntry(step: k, stage: stage, inverse: !forward, record: record, after: state, logDet: logDet))
            }
        }
        return Result(x: state.x, v: state.v, logDet: logDet, tape: tape)
    }

    // MARK: Backward

    /// Given dL/dx', dL/dv' and dL/dlogdet (per row) at the end of the trajectory, accumulates
    /// dL/dparams into `grads` (same layout as `params.values`): each tape entry's backward rule,
    /// last entry first. Returns dL/dx and dL/dv at the trajectory's start.
    @discardableResult
    func backpropagate(_ result: Result, gx: Matrix, gv: Matrix, gLogDet: [Double], params: ParameterStore, scale: Double,
                       grads: inout [Double]) -> PhaseSpace {
        var grad = PhaseSpace(x: gx, v: gv)
        for entry in result.tape.reversed() {
            switch entry.record {
            case let .v(rec):
                vHalfStep(entry.step, entry.stage).backward(rec, &grad, gLogDet: gLogDet, params: params, scale: scale, grads: &grads)
            case let .x(rec):
                xUpdate(entry.step, entry.stage).backward(rec, &grad, gLogDet: gLogDet, params: params, scale: scale, grads: &grads)
            }
        }
        return grad
    }
}

import ModelFormat

/// Positions and momenta of a batch of chains, [rows, n] each; also used for their gradients.
struct PhaseSpace {
    var x: Matrix
    var v: Matrix
}

/// The four sub-updates of leapfrog step k, named in forward order: v1 (v half-step), x1 (x
/// update on mask m^k), x2 (x update on 1 - m^k), v2 (v half-step). The backward direction
/// applies the inverses in the order v2, x2, x1, v1.
enum TrajectoryStage: String, Sendable, CaseIterable {
    case v1, x1, x2, v2

    /// The stages of one step in the order they are applied.
    static func order(forward: Bool) -> [TrajectoryStage] { forward ? [.v1, .x1, .x2, .v2] : [.v2, .x2, .x1, .v1] }

    var updatesMomenta: Bool { self == .v1 || self == .v2 }
}

/// One differentiable sub-update of the trainer's trajectory: its forward rule and its backward
/// rule side by side (the llm.c `*_forward`/`*_backward` pattern). A conforming type that omits
/// the backward rule does not compile: the compiler names the type and the missing
/// `backward(_:_:gLogDet:params:scale:grads:)`, so a sub-update can never run forward without
/// its gradient.
protocol SubUpdateRule {
    /// What the backward rule needs from the forward rule (inputs, network cache).
    associatedtype Record

    /// Applies the sub-update (its inverse when `inverse`) to `state` in place and adds its
    /// log|det J| to `logDet` per row. `eps` is this step's step size, `scale` the coupling.
    func forward(_ state: inout PhaseSpace, logDet: inout [Double], inverse: Bool, eps: Double,
                 params: ParameterStore, scale: Double, weights: NetWeights) -> Record

    /// Given `grad` = dL/d(state after the sub-update) and dL/dlogdet per row (the same at every
    /// sub-update: the log-det is a sum), replaces `grad` by dL/d(state before) and accumulates
    /// dL/dparams (network parameters and the step size) into `grads`.
    func backward(_ record: Record, _ grad: inout PhaseSpace, gLogDet: [Double], params: ParameterStore, scale: Double,
                  grads: inout [Double])
}

/// What one sub-update left on the tape.
enum SubUpdateRecord {
    case v(VHalfStep.Record)
    case x(MaskedXUpdate.Record)

    /// The network's inputs and outputs at this sub-update.
    var cache: NetworkCall {
        switch self {
        case let .v(r): return r.cache
        case let .x(r): return r.cache
        }
    }
}

/// One entry of the trajectory's tape: which sub-update ran, what its backward rule needs, and
/// the state and running log-det right after it (so audits read the trajectory without
/// replaying or re-deriving anything).
struct TapeEntry {
    /// Leapfrog step k (network, mask and step-size index).
    let step: Int
    let stage: TrajectoryStage
    /// The inverse sub-update (backward direction).
    let inverse: Bool
    let record: SubUpdateRecord
    /// [rows, n] positions and momenta after the sub-update.
    let after: PhaseSpace
    /// [rows] running log-det after the sub-update.
    let logDet: [Double]
}

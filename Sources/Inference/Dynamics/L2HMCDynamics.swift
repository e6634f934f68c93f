import Foundation
import ModelFormat

/// The generalized leapfrog of an L2HMC model (seed 001 eq. 17-20 forward, 21-24 backward,
/// log-det eq. 26), batched over chains: every network call is a set of GEMMs over all rows.
///
/// Forward step k (u = mask of step k, ubar = 1 - u; eps_x, eps_v and tau from the ``StepPlan``):
///   v'  = v e^{eps_v S_v/2} - eps_v/2 (F(x) e^{eps_v Q_v} + sigma T_v),   nets on (x, F(x), tau)
///   x'  = ubar x + u X(x; S_x, Q_x, T_x),                                   nets on (ubar-read x, v', tau)
///   x'' = u x' + ubar X(x'; ...),                                            nets on (u-read x', v', tau)
///   v'' = v' e^{eps_v S_v/2} - eps_v/2 (F(x'') e^{eps_v Q_v} + sigma T_v)
/// with X = x e^{eps_x S} + eps_x (v' e^{eps_x Q} + T) (linear; wrapped on the circle) or
/// X = wrap(2 atan(e^{eps_x S} tan(x/2)) + eps_x (v' e^{eps_x Q} + T)) (non-compact projection).
/// log-det adds eps_v/2 sum S_v per v update and, per x update, sum over updated coordinates of
/// eps_x S_x (linear) or the log-Jacobian of the projection at the pre-image (eq. 86).
/// The backward direction applies the exact inverse of each sub-update in reverse order,
/// steps k = N-1 ... 0, and subtracts the same log-det terms; forward then backward returns the
/// start to rounding.
public final class L2HMCDynamics {
    public let spec: SamplerSpec
    public let target: TargetAction
    public let vNets: [L2HMCNetwork]
    public let xNetsFirst: [L2HMCNetwork]
    /// Identical objects to `xNetsFirst` when the model has one x-network per step.
    public let xNetsSecond: [L2HMCNetwork]
    public private(set) var plan: StepPlan
    public private(set) var netWeights: NetWeights
    /// Stored masks [N_trained][n] as 0/1 doubles, and their complements.
    let masks: [Buffer]
    let complements: [Buffer]
    let storedEpsX: [Double], storedEpsV: [Double]
    public let capacity: Int
    private let force: Buffer, xIn: Buffer, heads: Buffer
    private var workspace: NetworkWorkspace

    /// - capacity: the largest number of rows (chains) any call will pass.
    public convenience init(model: L2ZModel, target: TargetAction, nLF: Int? = nil, mapping: StepMapping? = nil, capacity: Int) throws {
        try self.init(model: model, target: target, nLF: nLF, mapping: mapping, capacity: capacity, refuseBiasedWeights: true)
    }

    /// `refuseBiasedWeights: false` exists only so tests can build the known-biased sampler as a
    /// control; the public initializer always refuses it.
    init(model: L2ZModel, target: TargetAction, nLF: Int?, mapping: StepMapping?, capacity: Int, refuseBiasedWeights: Bool) throws {
        let spec = model.sampler
        self.spec = spec
        self.target = target
        guard target.stateSize == spec.stateSize else {
            throw InferenceError.modelTargetMismatch("the model has \(spec.stateSize) variables, the target \(target.stateSize)")
        }
        let names = SamplerRules.networkNames(spec)
        let nets = try names.map { try L2HMCNetwork(model: model, name: $0) }
        let byName = Dictionary(uniqueKeysWithValues: zip(names, nets))
        let steps = spec.network.layout == .shared ? 1 : spec.dynamics.nLF
        vNets = (0..<steps).map { byName["vnet.\($0)"]! }
        if spec.network.xNetworksPerStep == 2 {
            xNetsFirst = (0..<steps).map { byName["xnet_first.\($0)"]! }
            xNetsSecond = (0..<steps).map { byName["xnet_second.\($0)"]! }
        } else {
            xNetsFirst = (0..<steps).map { byName["xnet.\($0)"]! }
            xNetsSecond = xNetsFirst
        }
        let n = spec.stateSize
        let maskValues = try model.doubles("masks")
        masks = (0..<spec.dynamics.nLF).map { Buffer(Array(maskValues[($0 * n)..<(($0 + 1) * n)])) }
        complements = masks.map { m in Buffer((0..<n).map { 1 - m[$0] }) }
        storedEpsX = try model.doubles("eps_x")
        storedEpsV = try model.doubles("eps_v")
        do {
            plan = try StepPlan(dynamics: spec.dynamics, layout: spec.network.layout, epsX: storedEpsX, epsV: storedEpsV,
                                nLF: nLF ?? spec.dynamics.nLF, mapping: mapping)
        } catch let e as StepPlan.Failure { throw InferenceError.stepPlan(e.description) }
        netWeights = spec.netWeights
        self.capacity = capacity
        force = Buffer(capacity * n)
        xIn = Buffer(capacity * 2 * n)
        heads = Buffer(capacity * 3 * n)
        workspace = NetworkWorkspace(rows: capacity, networks: nets)
        if refuseBiasedWeights { try setNetWeights(spec.netWeights) }
    }

    /// All distinct networks.
    public var networks: [L2HMCNetwork] {
        var seen = Set<ObjectIdentifier>()
        return (vNets + xNetsFirst + xNetsSecond).filter { seen.insert(ObjectIdentifier($0)).inserted }
    }

    /// Sets the six net weights. Refuses a non-zero x-scale on a compact target whose x update is
    /// linear (not a bijection of the circle).
    public func setNetWeights(_ w: NetWeights) throws {
        for (i, a) in w.values.enumerated() where !a.isFinite {
            throw InferenceError.invalidOption(name: "net weight \(NetWeights.keys[i])", reason: "must be finite (got \(a))")
        }
        if target.isCompact && spec.dynamics.xUpdate == .linear && w.xScale != 0 {
            throw InferenceError.linearXScaleOnCircle(alpha: w.xScale)
        }
        netWeights = w
    }

    /// Changes N_LF (see ``StepPlan`` for the rules).
    public func setStepCount(_ nLF: Int, mapping: StepMapping?) throws {
        do {
            plan = try StepPlan(dynamics: spec.dynamics, layout: spec.network.layout, epsX: storedEpsX, epsV: storedEpsV, nLF: nLF, mapping: mapping)
        } catch let e as StepPlan.Failure { throw InferenceError.stepPlan(e.description) }
    }

    /// Rebuilds scratch space after layers were compressed.
    func refreshWorkspace() { workspace = NetworkWorkspace(rows: capacity, networks: networks) }

    // MARK: Trajectories

    /// Applies the N_LF forward steps in place to x, v ([rows, n]) and adds to logDet ([rows]).
    public func forward(x: UnsafeMutablePointer<Double>, v: UnsafeMutablePointer<Double>, rows: Int, logDet: UnsafeMutablePointer<Double>) {
        for k in 0..<plan.steps.count { forwardStep(k, x: x, v: v, rows: rows, logDet: logDet) }
    }

    /// Applies the inverse of ``forward(x:v:rows:logDet:)`` in place (steps N-1 ... 0).
    public func backward(x: UnsafeMutablePointer<Double>, v: UnsafeMutablePointer<Double>, rows: Int, logDet: UnsafeMutablePointer<Double>) {
        for k in stride(from: plan.steps.count - 1, through: 0, by: -1) { backwardStep(k, x: x, v: v, rows: rows, logDet: logDet) }
    }

    public func forwardStep(_ k: Int, x: UnsafeMutablePointer<Double>, v: UnsafeMutablePointer<Double>, rows: Int, logDet: UnsafeMutablePointer<Double>) {
        precondition(rows <= capacity)
        let step = plan.steps[k]
        vUpdate(step, x: x, v: v, rows: rows, logDet: logDet, inverse: false)
        xUpdate(step, net: xNetsFirst[step.network], update: masks[step.mask], read: complements[step.mask], x: x, v: v, rows: rows, logDet: logDet, inverse: false)
        xUpdate(step, net: xNetsSecond[step.network], update: complements[step.mask], read: masks[step.mask], x: x, v: v, rows: rows, logDet: logDet, inverse: false)
        vUpdate(step, x: x, v: v, rows: rows, logDet: logDet, inverse: false)
    }

    public func backwardStep(_ k: Int, x: UnsafeMutablePointer<Double>, v: UnsafeMutablePointer<Double>, rows: Int, logDet: UnsafeMutablePointer<Double>) {
        precondition(rows <= capacity)
        let step = plan.steps[k]
        vUpdate(step, x: x, v: v, rows: rows, logDet: logDet, inverse: true)
        xUpdate(step, net: xNetsSecond[step.network], update: complements[step.mask], read: masks[step.mask], x: x, v: v, rows: rows, logDet: logDet, inverse: true)
        xUpdate(step, net: xNetsFirst[step.network], update: masks[step.mask], read: complements[step.mask], x: x, v: v, rows: rows, logDet: logDet, inverse: true)
        vUpdate(step, x: x, v: v, rows: rows, logDet: logDet, inverse: true)
    }

    private func vUpdate(_ step: StepPlan.Step, x: UnsafeMutablePointer<Double>, v: UnsafeMutablePointer<Double>, rows: Int,
                         logDet: UnsafeMutablePointer<Double>, inverse: Bool) {
        let n = spec.stateSize
        let f = force.pointer, h = heads.pointer
        target.force(x, rows: rows, into: f)
        let encoding = spec.network.vNetInput
        let xInput: UnsafePointer<Double>
        if encoding == .raw {
            xInput = UnsafePointer(x)
        } else {
            InputEncoder.encode(x, rows: rows, n: n, readMask: nil, encoding: encoding, placement: nil, into: xIn.pointer)
            xInput = UnsafePointer(xIn.pointer)
        }
        vNets[step.network].evaluate(xIn: xInput, vIn: f, tau: spec.network.timeInput ? (step.tau[0], step.tau[1]) : nil, rows: rows,
                                     weights: (netWeights.vScale, netWeights.vTranslation, netWeights.vTransformation),
                                     out: h, workspace: workspace)
        let half = 0.5 * step.epsV, e = step.epsV
        let sigma = Double(spec.dynamics.translationSign.rawValue)
        for r in 0..<rows {
            let s = h + r * 3 * n, t = s + n, q = t + n, vr = v + r * n, fr = f + r * n
            var sum = 0.0
            if inverse {
                for i in 0..<n {
                    vr[i] = (vr[i] + half * (fr[i] * exp(e * q[i]) + sigma * t[i])) * exp(-half * s[i])
                    sum += s[i]
                }
                logDet[r] -= half * sum
            } else {
                for i in 0..<n {
                    vr[i] = vr[i] * exp(half * s[i]) - half * (fr[i] * exp(e * q[i]) + sigma * t[i])
                    sum += s[i]
                }
                logDet[r] += half * sum
            }
        }
    }

    private func xUpdate(_ step: StepPlan.Step, net: L2HMCNetwork, update u: Buffer, read: Buffer, x: UnsafeMutablePointer<Double>,
                         v: UnsafeMutablePointer<Double>, rows: Int, logDet: UnsafeMutablePointer<Double>, inverse: Bool) {
        let n = spec.stateSize
        let h = heads.pointer
        InputEncoder.encode(x, rows: rows, n: n, readMask: read.pointer, encoding: spec.network.xNetInput,
                            placement: spec.network.maskPlacement, into: xIn.pointer)
        net.evaluate(xIn: xIn.pointer, vIn: v, tau: spec.network.timeInput ? (step.tau[0], step.tau[1]) : nil, rows: rows,
                     weights: (netWeights.xScale, netWeights.xTranslation, netWeights.xTransformation), out: h, workspace: workspace)
        let e = step.epsX
        let compact = target.isCompact
        let ncp = spec.dynamics.xUpdate == .ncp
        for r in 0..<rows {
            let s = h + r * 3 * n, t = s + n, q = t + n, xr = x + r * n, vr = v + r * n
            var sum = 0.0
            for i in 0..<n where u[i] != 0 {
                let b = e * (vr[i] * exp(e * q[i]) + t[i])
                let es = e * s[i]
                if ncp {
                    if inverse {
                        let pre = Angles.projectedScale(Angles.wrap(xr[i] - b), logA: -es)
                        sum += Angles.projectedScaleLogJacobian(pre, logA: es)
                        xr[i] = pre
                    } else {
                        sum += Angles.projectedScaleLogJacobian(xr[i], logA: es)
                        xr[i] = Angles.wrap(Angles.projectedScale(xr[i], logA: es) + b)
                    }
                } else {
                    let y = inverse ? (xr[i] - b) * exp(-es) : xr[i] * exp(es) + b
                    xr[i] = compact ? Angles.wrap(y) : y
                    sum += es
                }
            }
            logDet[r] += inverse ? -sum : sum
        }
    }

    // MARK: Single network evaluation (probes, tests)

    /// Evaluates network `name` on explicit inputs with unit net weights: returns S, T, Q ([rows, n] each).
    public func evaluateNetwork(_ name: String, xIn: [Double], vIn: [Double], tau: [Double]?, rows: Int) throws -> (s: [Double], t: [Double], q: [Double]) {
        guard let net = networks.first(where: { $0.name == name }) else {
            throw InferenceError.invalidOption(name: "network", reason: "no network named \(name)")
        }
        let n = spec.stateSize
        let out = Buffer(rows * 3 * n)
        let ws = NetworkWorkspace(rows: rows, networks: [net])
        xIn.withUnsafeBufferPointer { xp in vIn.withUnsafeBufferPointer { vp in
            net.evaluate(xIn: xp.baseAddress!, vIn: vp.baseAddress!, tau: tau.map { ($0[0], $0[1]) }, rows: rows, weights: (1, 1, 1), out: out.pointer, workspace: ws)
        } }
        var s = [Double](), t = [Double](), q = [Double]()
        for r in 0..<rows {
            let base = r * 3 * n
            s += (0..<n).map { out[base + $0] }
            t += (0..<n).map { out[base + n + $0] }
            q += (0..<n).map { out[base + 2 * n + $0] }
        }
        return (s, t, q)
    }
}

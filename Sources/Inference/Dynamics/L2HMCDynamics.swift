import CL2HMCKernels
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
///
/// A local model (``NetworkKind/local(_:)``) runs on the target's lattice, whatever size it has:
/// its networks are ``LocalNetwork``s (``vNets`` etc. are then empty), its masks come from the
/// model's mask rule evaluated for that lattice, and the sub-update arithmetic is the same.
public final class L2HMCDynamics {
    public let spec: SamplerSpec
    public let target: TargetAction
    /// Dense networks (empty for a local model).
    public let vNets: [L2HMCNetwork]
    public let xNetsFirst: [L2HMCNetwork]
    /// Identical objects to `xNetsFirst` when the model has one x-network per step.
    public let xNetsSecond: [L2HMCNetwork]
    /// The local networks on the run lattice (nil for a dense model).
    private(set) var local: LocalNetworkSet?
    public private(set) var plan: StepPlan
    public private(set) var netWeights: NetWeights
    /// Stored masks [N_trained][n] as 0/1 doubles, and their complements.
    let masks: [Buffer]
    let complements: [Buffer]
    let storedEpsX: [Double], storedEpsV: [Double]
    public let capacity: Int
    private let force: Buffer, xIn: Buffer, heads: Buffer
    /// cos x | sin x ([capacity, 2n]) of the current positions, kept up to date through a
    /// trajectory (each x update refreshes the links it moved); nil when no input is cos/sin.
    private let trig: Buffer?
    /// Per stored mask: the links it updates (mask 1) followed by the others; `maskCounts` of them are updated.
    let maskOrders: [[Int32]], maskCounts: [Int]
    /// x-network heads permuted by the mask order they are used with, keyed by network and mask.
    private var permutedHeads: [HeadsKey: PermutedHeads] = [:]
    private struct HeadsKey: Hashable { let net: ObjectIdentifier; let mask: Int }
    private var workspace: NetworkWorkspace

    /// - capacity: the largest number of rows (chains) any call will pass.
    public convenience init(model: L2ZModel, target: TargetAction, nLF: Int? = nil, mapping: StepMapping? = nil, capacity: Int) throws {
        try self.init(model: model, target: target, nLF: nLF, mapping: mapping, capacity: capacity, refuseBiasedWeights: true)
    }

    /// `refuseBiasedWeights: false` exists only so tests can build the known-biased sampler as a
    /// control; the public initializer always refuses it.
    init(model: L2ZModel, target: TargetAction, nLF: Int?, mapping: StepMapping?, capacity: Int, refuseBiasedWeights: Bool) throws {
        let spec = try model.sampler
        self.spec = spec
        self.target = target
        let n = target.stateSize
        let nets: [L2HMCNetwork]
        if let localSpec = spec.network.kind.local {
            let geometry = try L2HMCDynamics.localGeometry(spec: spec, local: localSpec, target: target)
            nets = []
            vNets = []; xNetsFirst = []; xNetsSecond = []
            masks = (0..<spec.dynamics.nLF).map { k in
                Buffer(LocalNetworkRules.updateMask(localSpec.maskRule, step: k, lt: geometry.lt, lx: geometry.lx, layout: geometry.layout).map { Double($0) })
            }
        } else {
            guard target.stateSize == spec.stateSize else {
                throw InferenceError.modelTargetMismatch("the model has \(spec.stateSize) variables, the target \(target.stateSize)")
            }
            let names = SamplerRules.networkNames(spec)
            nets = try names.map { try L2HMCNetwork(model: model, name: $0) }
            let byName = Dictionary(uniqueKeysWithValues: zip(names, nets))
            func net(_ name: String) throws -> L2HMCNetwork {
                guard let n = byName[name] else { throw L2ZError.arrayMissing(name: name, reason: "the architecture needs network \(name)") }
                return n
            }
            let steps = spec.network.layout == .shared ? 1 : spec.dynamics.nLF
            vNets = try (0..<steps).map { try net("vnet.\($0)") }
            if spec.network.xNetworksPerStep == 2 {
                xNetsFirst = try (0..<steps).map { try net("xnet_first.\($0)") }
                xNetsSecond = try (0..<steps).map { try net("xnet_second.\($0)") }
            } else {
                xNetsFirst = try (0..<steps).map { try net("xnet.\($0)") }
                xNetsSecond = xNetsFirst
            }
            let maskValues = try model.doubles("masks")
            masks = (0..<spec.dynamics.nLF).map { Buffer(Array(maskValues[($0 * n)..<(($0 + 1) * n)])) }
        }
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
        trig = spec.network.xNetInput != .raw || spec.network.vNetInput != .raw ? Buffer(capacity * 2 * n) : nil
        maskOrders = masks.map { m in ((0..<n).filter { m[$0] != 0 } + (0..<n).filter { m[$0] == 0 }).map { Int32($0) } }
        maskCounts = masks.map { m in (0..<n).filter { m[$0] != 0 }.count }
        workspace = NetworkWorkspace(rows: capacity, networks: nets)
        if let localSpec = spec.network.kind.local {
            let geometry = try L2HMCDynamics.localGeometry(spec: spec, local: localSpec, target: target)
            local = try LocalNetworkSet(model: model, local: localSpec, geometry: geometry, maskOrders: maskOrders, capacity: capacity)
        }
        preparePermutedHeads()
        if refuseBiasedWeights { try setNetWeights(spec.netWeights) }
    }

    /// A copy for another thread (``Proposal/replica(capacity:)``): the same networks (shared,
    /// read-only during trajectories), plan, net weights, masks and permuted heads, and its own
    /// scratch space for `capacity` rows.
    init(replicating o: L2HMCDynamics, capacity: Int) {
        spec = o.spec; target = o.target
        vNets = o.vNets; xNetsFirst = o.xNetsFirst; xNetsSecond = o.xNetsSecond
        plan = o.plan; netWeights = o.netWeights
        masks = o.masks; complements = o.complements
        storedEpsX = o.storedEpsX; storedEpsV = o.storedEpsV
        self.capacity = capacity
        let n = o.target.stateSize
        force = Buffer(capacity * n)
        xIn = Buffer(capacity * 2 * n)
        heads = Buffer(capacity * 3 * n)
        trig = o.trig == nil ? nil : Buffer(capacity * 2 * n)
        maskOrders = o.maskOrders; maskCounts = o.maskCounts
        permutedHeads = o.permutedHeads
        local = o.local.map { LocalNetworkSet(replicating: $0, capacity: capacity) }
        workspace = NetworkWorkspace(rows: capacity, networks: o.networks)
        for net in networks { net.prepareForSharedUse() }
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
        preparePermutedHeads()
    }

    /// Rebuilds scratch space after layers were compressed.
    func refreshWorkspace() {
        for net in networks { net.refreshPrecision() }
        workspace = NetworkWorkspace(rows: capacity, networks: networks)
        permutedHeads = [:]
        preparePermutedHeads()
    }

    /// Builds the permuted x-network heads every step of the plan uses (outside the trajectories).
    private func preparePermutedHeads() {
        guard local == nil else { return }
        for step in plan.steps {
            for net in [xNetsFirst[step.network], xNetsSecond[step.network]] { _ = headsPermuted(net, mask: step.mask) }
        }
    }

    private func headsPermuted(_ net: L2HMCNetwork, mask: Int) -> PermutedHeads {
        let key = HeadsKey(net: ObjectIdentifier(net), mask: mask)
        if let p = permutedHeads[key], p.version == net.headsVersion { return p }
        let p = net.permutedHeads(order: maskOrders[mask], split: maskCounts[mask])
        permutedHeads[key] = p
        return p
    }

    // MARK: Trajectories

    /// Applies the N_LF forward steps in place to x, v ([rows, n]) and adds to logDet ([rows]).
    public func forward(x: UnsafeMutablePointer<Double>, v: UnsafeMutablePointer<Double>, rows: Int, logDet: UnsafeMutablePointer<Double>) {
        precondition(rows <= capacity)
        refreshTrig(x, rows: rows)
        var forceValid = false
        for k in 0..<plan.steps.count { step(k, inverse: false, x: x, v: v, rows: rows, logDet: logDet, forceValid: &forceValid) }
    }

    /// Applies the inverse of ``forward(x:v:rows:logDet:)`` in place (steps N-1 ... 0).
    public func backward(x: UnsafeMutablePointer<Double>, v: UnsafeMutablePointer<Double>, rows: Int, logDet: UnsafeMutablePointer<Double>) {
        precondition(rows <= capacity)
        refreshTrig(x, rows: rows)
        var forceValid = false
        for k in stride(from: plan.steps.count - 1, through: 0, by: -1) {
            step(k, inverse: true, x: x, v: v, rows: rows, logDet: logDet, forceValid: &forceValid)
        }
    }

    public func forwardStep(_ k: Int, x: UnsafeMutablePointer<Double>, v: UnsafeMutablePointer<Double>, rows: Int, logDet: UnsafeMutablePointer<Double>) {
        precondition(rows <= capacity)
        refreshTrig(x, rows: rows)
        var forceValid = false
        step(k, inverse: false, x: x, v: v, rows: rows, logDet: logDet, forceValid: &forceValid)
    }

    /// One step (forward: v, x with mask u, x with 1 - u, v; inverse: the inverses in reverse
    /// order). `forceValid` says whether `force` holds F(x) for the current x: the force at the
    /// end of a step is the force at the start of the next one, so it is computed once per step.
    private func step(_ k: Int, inverse: Bool, x: UnsafeMutablePointer<Double>, v: UnsafeMutablePointer<Double>, rows: Int,
                      logDet: UnsafeMutablePointer<Double>, forceValid: inout Bool) {
        let step = plan.steps[k]
        func observe(_ stage: String) { subUpdateObserver?(k, stage, x, v, logDet) }
        vUpdate(step, x: x, v: v, rows: rows, logDet: logDet, inverse: inverse, forceValid: &forceValid)
        observe(inverse ? "v2" : "v1")
        let m = maskCounts[step.mask], n = target.stateSize
        if inverse {
            xUpdate(step, first: false, range: m..<n, read: masks[step.mask], x: x, v: v, rows: rows, logDet: logDet, inverse: true)
            observe("x2")
            xUpdate(step, first: true, range: 0..<m, read: complements[step.mask], x: x, v: v, rows: rows, logDet: logDet, inverse: true)
            observe("x1")
        } else {
            xUpdate(step, first: true, range: 0..<m, read: complements[step.mask], x: x, v: v, rows: rows, logDet: logDet, inverse: false)
            observe("x1")
            xUpdate(step, first: false, range: m..<n, read: masks[step.mask], x: x, v: v, rows: rows, logDet: logDet, inverse: false)
            observe("x2")
        }
        forceValid = false
        vUpdate(step, x: x, v: v, rows: rows, logDet: logDet, inverse: inverse, forceValid: &forceValid)
        observe(inverse ? "v1" : "v2")
    }

    /// Called after every sub-update with (step k, stage "v1" | "x1" | "x2" | "v2", x, v,
    /// running log-det), all [rows, n] / [rows]. The backward direction reports the inverse of
    /// each stage under the stage's name (v2, x2, x1, v1). For audits and golden tests; nil in
    /// production runs.
    public var subUpdateObserver: ((_ step: Int, _ stage: String, _ x: UnsafePointer<Double>, _ v: UnsafePointer<Double>,
                                    _ logDet: UnsafePointer<Double>) -> Void)?

    /// cos/sin of every link, when a network input needs them.
    private func refreshTrig(_ x: UnsafePointer<Double>, rows: Int) {
        if let trig { l2k_sincos_blocks(x, rows, target.stateSize, trig.pointer) }
    }

    private static func encodingCode(_ e: InputEncoding) -> Int32 {
        switch e {
        case .raw: return Int32(L2K_ENC_RAW)
        case .cosSinBlocks: return Int32(L2K_ENC_BLOCKS)
        case .cosSinInterleaved: return Int32(L2K_ENC_INTERLEAVED)
        }
    }

    private func vUpdate(_ step: StepPlan.Step, x: UnsafeMutablePointer<Double>, v: UnsafeMutablePointer<Double>, rows: Int,
                         logDet: UnsafeMutablePointer<Double>, inverse: Bool, forceValid: inout Bool) {
        let n = target.stateSize
        let f = force.pointer, h = heads.pointer
        if !forceValid {
            target.force(x, rows: rows, into: f)
            forceValid = true
        }
        let xInput: UnsafePointer<Double>
        switch spec.network.vNetInput {
        case .raw: xInput = UnsafePointer(x)
        case .cosSinBlocks:
            guard let trig else { preconditionFailure("cos/sin network input without its buffer (allocated for every cos/sin model)") }
            xInput = UnsafePointer(trig.pointer)
        case .cosSinInterleaved:
            guard let trig else { preconditionFailure("cos/sin network input without its buffer (allocated for every cos/sin model)") }
            l2k_encode(x, trig.pointer, rows, n, nil, Int32(L2K_ENC_INTERLEAVED), 1, xIn.pointer)
            xInput = UnsafePointer(xIn.pointer)
        }
        let tau = spec.network.timeInput ? (step.tau[0], step.tau[1]) : nil
        if let local {
            guard let trig else { preconditionFailure("local networks without the cos/sin buffer (allocated for every local model)") }
            let net = local.vNets[step.network]
            local.vHeads(net, x: x, trig: trig.pointer, force: f, tau: tau, rows: rows, out: h)
            let c = local.columns(net, mask: -1)
            l2k_v_update(h, nil, 0, 0, nil, nil, nil, rows, n, c.bias.pointer, c.scaleFactor.pointer, c.transformationFactor.pointer,
                         netWeights.vScale, netWeights.vTranslation, netWeights.vTransformation, step.epsV,
                         Double(spec.dynamics.translationSign.rawValue), f, v, logDet, inverse ? 1 : 0)
            return
        }
        let net = vNets[step.network]
        // Rank-r heads stay two GEMMs here: the v update needs every column, and forming z Q in the
        // kernel measured no faster than OpenBLAS. The x updates (below) need half the columns, so
        // there the kernel forms z Q for the links it moves (W3: about 2 ms per trajectory less).
        net.evaluateRaw(xIn: xInput, vIn: f, tau: spec.network.timeInput ? (step.tau[0], step.tau[1]) : nil, rows: rows, out: h,
                        workspace: workspace)
        l2k_v_update(h, nil, 0, 0, nil, nil, nil, rows, n, net.headBias.pointer, net.scaleFactor.pointer, net.transformationFactor.pointer,
                     netWeights.vScale, netWeights.vTranslation, netWeights.vTransformation, step.epsV,
                     Double(spec.dynamics.translationSign.rawValue), f, v, logDet, inverse ? 1 : 0)
    }

    /// The x sub-update of the links maskOrders[step.mask][range] (the mask's links when `first`,
    /// the others otherwise), reading x through `read`.
    private func xUpdate(_ step: StepPlan.Step, first: Bool, range: Range<Int>, read: Buffer, x: UnsafeMutablePointer<Double>,
                         v: UnsafeMutablePointer<Double>, rows: Int, logDet: UnsafeMutablePointer<Double>, inverse: Bool) {
        let n = target.stateSize
        let h = heads.pointer
        let form: Int32
        if spec.dynamics.xUpdate == .ncp { form = Int32(L2K_X_NCP) } else { form = Int32(target.isCompact ? L2K_X_LINEAR_WRAPPED : L2K_X_LINEAR) }
        if let local {
            guard let trig else { preconditionFailure("local networks without the cos/sin buffer (allocated for every local model)") }
            let net = first ? local.xNetsFirst[step.network] : local.xNetsSecond[step.network]
            local.xHeads(net, mask: step.mask, trig: trig.pointer, v: v, read: read.pointer, tau: spec.network.timeInput ? (step.tau[0], step.tau[1]) : nil,
                         rows: rows, out: h)
            let c = local.columns(net, mask: step.mask)
            maskOrders[step.mask].withUnsafeBufferPointer { order in
                l2k_x_update(h, nil, 0, 0, nil, nil, nil, rows, n, range.lowerBound, range.count, order.baseAddress! + range.lowerBound,
                             c.bias.pointer, c.scaleFactor.pointer, c.transformationFactor.pointer,
                             netWeights.xScale, netWeights.xTranslation, netWeights.xTransformation, step.epsX, form, inverse ? 1 : 0,
                             x, v, logDet, trig.pointer)
            }
            return
        }
        let net = first ? xNetsFirst[step.network] : xNetsSecond[step.network]
        let permuted = headsPermuted(net, mask: step.mask)
        l2k_encode(x, trig?.pointer, rows, n, read.pointer, L2HMCDynamics.encodingCode(spec.network.xNetInput),
                   spec.network.maskPlacement == .afterTrig ? 0 : 1, xIn.pointer)
        let fz = net.evaluateRaw(xIn: xIn.pointer, vIn: v, tau: spec.network.timeInput ? (step.tau[0], step.tau[1]) : nil, rows: rows,
                                 out: h, workspace: workspace, permuted: permuted, factoredHeads: true)
        maskOrders[step.mask].withUnsafeBufferPointer { order in
            let q = fz == nil ? nil : (first ? permuted.panelsFirst : permuted.panelsSecond)
            l2k_x_update(fz == nil ? h : nil, fz?.z, fz?.ldz ?? 0, fz?.rank ?? 0, q?[0].pointer, q?[1].pointer, q?[2].pointer,
                         rows, n, range.lowerBound, range.count, order.baseAddress! + range.lowerBound,
                         permuted.bias.pointer, permuted.scaleFactor.pointer, permuted.transformationFactor.pointer,
                         netWeights.xScale, netWeights.xTranslation, netWeights.xTransformation, step.epsX, form, inverse ? 1 : 0,
                         x, v, logDet, trig?.pointer)
        }
    }

    /// The run lattice of a local model: the target must be a U(1) lattice with the model's link
    /// layout (any extents; the beta is the target's).
    static func localGeometry(spec: SamplerSpec, local: LocalNetworkSpec, target: TargetAction) throws -> LocalGeometry {
        guard let lattice = target.u1Lattice else {
            throw InferenceError.modelTargetMismatch("a local model runs on a U(1) lattice; the target is not one")
        }
        guard case let .u1(trained) = spec.target, trained.linkLayout == lattice.linkLayout else {
            throw InferenceError.modelTargetMismatch("the target's link layout \(lattice.linkLayout.rawValue) is not the model's")
        }
        return LocalGeometry(lt: lattice.lt, lx: lattice.lx, layout: lattice.linkLayout, kernelSize: local.kernelSize)
    }

    /// True for a model with local networks (runs at any lattice size).
    public var isLocal: Bool { local != nil }

    // MARK: Single network evaluation (probes, tests)

    /// Evaluates network `name` on explicit inputs with unit net weights: returns S, T, Q ([rows, n] each).
    public func evaluateNetwork(_ name: String, xIn: [Double], vIn: [Double], tau: [Double]?, rows: Int) throws -> (s: [Double], t: [Double], q: [Double]) {
        guard let net = networks.first(where: { $0.name == name }) else {
            throw InferenceError.invalidOption(name: "network", reason: "no network named \(name)")
        }
        let n = target.stateSize
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

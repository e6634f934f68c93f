import Foundation
import ModelFormat

/// The L2HMC trajectory of the trainer: forward pass with a tape, and the exact reverse-mode
/// gradient of any function of (x', v', logdet) with respect to every parameter.
///
/// Same mathematics as docs/FORMAT.md sec. 5 (and the runtime), written independently: step k
/// uses network k (or 0 when shared), mask m^k, tau_k = (cos 2 pi k/N, sin 2 pi k/N) and step
/// sizes eps = exp(log_eps[k]). The backward direction applies the inverse sub-updates in
/// reverse order. The force's dependence on x enters the gradient through the target's
/// Hessian-vector product.
struct TrainerDynamics {
    let spec: SamplerSpec
    let target: TrainingTarget
    let vNets: [TrainableNetwork]
    let xFirst: [TrainableNetwork]
    let xSecond: [TrainableNetwork]
    /// m^k as 0/1 doubles: the coordinates the first x update of step k changes.
    let masks: [[Double]]
    let vEncoder: TrainEncoder
    let xEncoder: TrainEncoder

    var nLF: Int { spec.dynamics.nLF }
    var projected: Bool { spec.dynamics.xUpdate == .ncp }
    var sigma: Double { Double(spec.dynamics.translationSign.rawValue) }

    init(spec: SamplerSpec, target: TrainingTarget, masks: [[Double]]) {
        self.spec = spec
        self.target = target
        self.masks = masks
        let n = spec.stateSize, net = spec.network
        let steps = net.layout == .shared ? 1 : spec.dynamics.nLF
        func make(_ name: String, _ enc: InputEncoding) -> TrainableNetwork {
            TrainableNetwork(name: name, stateSize: n, xWidth: enc.width(stateSize: n), units: net.hiddenUnits, activation: net.activation,
                             timeInput: net.timeInput, scaleCoefficient: net.scaleHead == .tanhExpCoeff,
                             transformationCoefficient: net.transformationHead == .tanhExpCoeff)
        }
        vNets = (0..<steps).map { make("vnet.\($0)", net.vNetInput) }
        if net.xNetworksPerStep == 2 {
            xFirst = (0..<steps).map { make("xnet_first.\($0)", net.xNetInput) }
            xSecond = (0..<steps).map { make("xnet_second.\($0)", net.xNetInput) }
        } else {
            xFirst = (0..<steps).map { make("xnet.\($0)", net.xNetInput) }
            xSecond = xFirst
        }
        vEncoder = TrainEncoder(encoding: net.vNetInput, placement: nil, stateSize: n)
        xEncoder = TrainEncoder(encoding: net.xNetInput, placement: net.maskPlacement, stateSize: n)
    }

    func networkIndex(_ k: Int) -> Int { spec.network.layout == .shared ? 0 : k }
    func tau(_ k: Int) -> [Double]? {
        spec.network.timeInput ? [cos(2 * .pi * Double(k) / Double(nLF)), sin(2 * .pi * Double(k) / Double(nLF))] : nil
    }

    // MARK: Tape

    enum Record {
        case v(VRecord)
        case x(XRecord)
    }

    struct VRecord {
        let step: Int
        let inverse: Bool
        let x: Matrix        // position the networks see
        let force: Matrix    // F(x)
        let vIn: Matrix      // v before this sub-update (in its own direction)
        let cache: TrainableNetwork.Cache
        let eps: Double
    }

    struct XRecord {
        let step: Int
        let inverse: Bool
        let first: Bool     // first (mask m) or second (mask 1 - m) x update of the step
        let xIn: Matrix      // positions before this sub-update
        let w: Matrix        // what the scale map was applied to (x for forward, wrap(x' - B) for inverse)
        let v: Matrix
        let cache: TrainableNetwork.Cache
        let eps: Double
    }

    struct Result {
        var x: Matrix
        var v: Matrix
        var logDet: [Double]
        var tape: [Record]
    }

    // MARK: Forward

    /// Runs the trajectory in `direction` (+1 forward, -1 backward) for all rows.
    func run(x0: Matrix, v0: Matrix, forward: Bool, params: ParameterStore, scale: Double, weights: NetWeights) -> Result {
        var x = x0, v = v0
        var logDet = [Double](repeating: 0, count: x0.rows)
        var tape: [Record] = []
        let epsX = params["log_eps_x"].map { exp($0) }, epsV = params["log_eps_v"].map { exp($0) }
        let steps = forward ? Array(0..<nLF) : Array((0..<nLF).reversed())
        for k in steps {
            let order: [(Bool, Bool)] = forward ? [(true, false), (false, true), (false, false), (true, false)]
                                                : [(true, false), (false, false), (false, true), (true, false)]
            for (isV, first) in order {
                if isV {
                    tape.append(.v(vUpdate(k, x: x, v: &v, logDet: &logDet, inverse: !forward, eps: epsV[k], params: params, scale: scale, weights: weights)))
                } else {
                    tape.append(.x(xUpdate(k, first: first, x: &x, v: v, logDet: &logDet, inverse: !forward, eps: epsX[k], params: params, weights: weights)))
                }
            }
        }
        return Result(x: x, v: v, logDet: logDet, tape: tape)
    }

    private func vUpdate(_ k: Int, x: Matrix, v: inout Matrix, logDet: inout [Double], inverse: Bool, eps: Double,
                         params: ParameterStore, scale: Double, weights w: NetWeights) -> VRecord {
        let f = target.force(x, scale: scale)
        let cache = vNets[networkIndex(k)].forward(xIn: vEncoder.encode(x, read: nil), vIn: f, tau: tau(k),
                                                   weights: (w.vScale, w.vTranslation, w.vTransformation), params: params)
        let vIn = v, n = target.stateSize, half = 0.5 * eps
        for r in 0..<v.rows {
            var sum = 0.0
            for i in 0..<n {
                let j = r * n + i
                let s = cache.s.data[j], t = cache.t.data[j], q = cache.q.data[j]
                let kick = half * (f.data[j] * exp(eps * q) + sigma * t)
                v.data[j] = inverse ? (vIn.data[j] + kick) * exp(-half * s) : vIn.data[j] * exp(half * s) - kick
                sum += s
            }
            logDet[r] += (inverse ? -half : half) * sum
        }
        return VRecord(step: k, inverse: inverse, x: x, force: f, vIn: vIn, cache: cache, eps: eps)
    }

    private func xUpdate(_ k: Int, first: Bool, x: inout Matrix, v: Matrix, logDet: inout [Double], inverse: Bool, eps: Double,
                         params: ParameterStore, weights w: NetWeights) -> XRecord {
        let m = masks[k], n = target.stateSize
        let update = first ? m : m.map { 1 - $0 }
        let read = update.map { 1 - $0 }
        let net = (first ? xFirst : xSecond)[networkIndex(k)]
        let cache = net.forward(xIn: xEncoder.encode(x, read: read), vIn: v, tau: tau(k),
                                weights: (w.xScale, w.xTranslation, w.xTransformation), params: params)
        let xIn = x
        var wMat = x
        for r in 0..<x.rows {
            var sum = 0.0
            for i in 0..<n where update[i] != 0 {
                let j = r * n + i
                let s = eps * cache.s.data[j]
                let b = eps * (v.data[j] * exp(eps * cache.q.data[j]) + cache.t.data[j])
                if inverse {
                    let wv = target.isCompact ? wrapAngle(xIn.data[j] - b) : xIn.data[j] - b
                    wMat.data[j] = wv
                    let m = ScaleMap.evaluate(wv, -s, projected: projected)
                    x.data[j] = target.isCompact ? wrapAngle(m.z) : m.z
                    sum += m.logJ
                } else {
                    let m = ScaleMap.evaluate(xIn.data[j], s, projected: projected)
                    x.data[j] = target.isCompact ? wrapAngle(m.z + b) : m.z + b
                    sum += m.logJ
                }
            }
            logDet[r] += sum
        }
        return XRecord(step: k, inverse: inverse, first: first, xIn: xIn, w: wMat, v: v, cache: cache, eps: eps)
    }

    // MARK: Backward

    /// Given dL/dx', dL/dv' and dL/dlogdet (per row) at the end of the trajectory, accumulates
    /// dL/dparams into `grads` (same layout as `params.values`).
    func backpropagate(_ result: Result, gx gxEnd: Matrix, gv gvEnd: Matrix, gLogDet: [Double], params: ParameterStore, scale: Double,
                       grads: inout [Double]) {
        var gx = gxEnd, gv = gvEnd
        let n = target.stateSize
        for record in result.tape.reversed() {
            switch record {
            case let .v(rec):
                var gS = Matrix(zeros: gv.rows, n), gT = gS, gQ = gS, gF = gS, gvIn = gS
                var gEps = 0.0
                let e = rec.eps, half = 0.5 * e
                for r in 0..<gv.rows {
                    for i in 0..<n {
                        let j = r * n + i
                        let s = rec.cache.s.data[j], t = rec.cache.t.data[j], q = rec.cache.q.data[j], f = rec.force.data[j]
                        let eq = exp(e * q), g = gv.data[j]
                        if rec.inverse {
                            let es = exp(-half * s)
                            let wv = rec.vIn.data[j] + half * (f * eq + sigma * t)
                            let gw = g * es
                            gvIn.data[j] = gw
                            gS.data[j] = g * wv * es * (-half) - half * gLogDet[r]
                            gQ.data[j] = gw * half * f * eq * e
                            gT.data[j] = gw * half * sigma
                            gF.data[j] = gw * half * eq
                            gEps += g * wv * es * (-0.5 * s) + gw * (0.5 * (f * eq + sigma * t) + half * f * eq * q) - 0.5 * s * gLogDet[r]
                        } else {
                            let es = exp(half * s)
                            gvIn.data[j] = g * es
                            gS.data[j] = g * rec.vIn.data[j] * es * half + half * gLogDet[r]
                            gQ.data[j] = -g * half * f * eq * e
                            gT.data[j] = -g * half * sigma
                            gF.data[j] = -g * half * eq
                            gEps += g * (rec.vIn.data[j] * es * 0.5 * s - 0.5 * (f * eq + sigma * t) - half * f * eq * q) + 0.5 * s * gLogDet[r]
                        }
                    }
                }
                let net = vNets[networkIndex(rec.step)]
                let (gxIn, gFIn) = net.backward(rec.cache, dS: gS, dT: gT, dQ: gQ, params: params, grads: &grads)
                for i in 0..<gF.data.count { gF.data[i] += gFIn.data[i] }
                let hx = target.hessianTimes(gF, at: rec.x, scale: scale)
                let ge = vEncoder.backward(gxIn, at: rec.x, read: nil)
                for i in 0..<gx.data.count { gx.data[i] += hx.data[i] + ge.data[i] }
                gv = gvIn
                grads[params.offset("log_eps_v") + rec.step] += gEps * e
            case let .x(rec):
                let m = masks[rec.step]
                let update = rec.first ? m : m.map { 1 - $0 }
                let read = update.map { 1 - $0 }
                var gS = Matrix(zeros: gx.rows, n), gT = gS, gQ = gS
                var gxIn = gx  // non-updated coordinates pass through
                var gEps = 0.0
                let e = rec.eps
                for r in 0..<gx.rows {
                    for i in 0..<n where update[i] != 0 {
                        let j = r * n + i
                        let sRaw = rec.cache.s.data[j], q = rec.cache.q.data[j], t = rec.cache.t.data[j], vj = rec.v.data[j]
                        let eq = exp(e * q)
                        let s = e * sRaw
                        let g = gx.data[j], gl = gLogDet[r]
                        var gs: Double, gb: Double
                        if rec.inverse {
                            // x = Z(w, -s), w = wrap(x_in - b); logdet += logJ(w, -s).
                            let mv = ScaleMap.evaluate(rec.w.data[j], -s, projected: projected)
                            let gw = g * mv.dzdx + gl * mv.dldx
                            gs = -(g * mv.dzds + gl * mv.dlds)
                            gxIn.data[j] = gw
                            gb = -gw
                        } else {
                            // x' = wrap(Z(x_in, s) + b); logdet += logJ(x_in, s).
                            let mv = ScaleMap.evaluate(rec.xIn.data[j], s, projected: projected)
                            gxIn.data[j] = g * mv.dzdx + gl * mv.dldx
                            gs = g * mv.dzds + gl * mv.dlds
                            gb = g
                        }
                        // s = e S; b = e (v e^{eQ} + T).
                        gS.data[j] = gs * e
                        gQ.data[j] = gb * e * vj * eq * e
                        gT.data[j] = gb * e
                        gv.data[j] += gb * e * eq
                        gEps += gs * sRaw + gb * (vj * eq + t + e * vj * eq * q)
                    }
                }
                let net = (rec.first ? xFirst : xSecond)[networkIndex(rec.step)]
                let (gEnc, gvNet) = net.backward(rec.cache, dS: gS, dT: gT, dQ: gQ, params: params, grads: &grads)
                let ge = xEncoder.backward(gEnc, at: rec.xIn, read: read)
                for i in 0..<gxIn.data.count { gxIn.data[i] += ge.data[i]; gv.data[i] += gvNet.data[i] }
                gx = gxIn
                grads[params.offset("log_eps_x") + rec.step] += gEps * e
            }
        }
    }
}

import Foundation
import ModelFormat

/// The v half-step of leapfrog step k, forward and backward side by side.
///
/// Forward: v' = v e^{(eps/2) S} - (eps/2) (F e^{eps Q} + sigma T), log-det += (eps/2) sum S
/// (``VLogDet``); inverse: v = (v' + (eps/2) (F e^{eps Q} + sigma T)) e^{-(eps/2) S}. S, T, Q are
/// the v network's outputs on (x, F(x), tau_k) (``SubUpdateNetwork``: encoded x or per-site features); F = dU/dx at coupling `scale`. The
/// backward rule reaches x through the network input and through F (the target's
/// Hessian-vector product).
struct VHalfStep: SubUpdateRule {
    let step: Int
    let net: SubUpdateNetwork
    let target: TrainingTarget
    let tau: [Double]?
    /// +1 or -1: the sign of T in the kick.
    let sigma: Double

    struct Record {
        let inverse: Bool
        /// [rows, n] positions the network saw, F(x) and v before the sub-update.
        let x: Matrix
        let force: Matrix
        let vIn: Matrix
        let cache: NetworkCall
        let eps: Double
    }

    func forward(_ state: inout PhaseSpace, logDet: inout [Double], inverse: Bool, eps: Double,
                 params: ParameterStore, scale: Double, weights w: NetWeights) -> Record {
        let x = state.x
        let f = target.force(x, scale: scale)
        let cache = net.forward(x: x, read: nil, other: f, tau: tau, weights: (w.vScale, w.vTranslation, w.vTransformation), params: params)
        let vIn = state.v, n = target.stateSize, half = 0.5 * eps
        let outS = cache.s, outT = cache.t, outQ = cache.q
        for r in 0..<vIn.rows {
            for i in 0..<n {
                let j = r * n + i
                let s = outS.data[j], t = outT.data[j], q = outQ.data[j]
                let kick = half * (f.data[j] * exp(eps * q) + sigma * t)
                state.v.data[j] = inverse ? (vIn.data[j] + kick) * exp(-half * s) : vIn.data[j] * exp(half * s) - kick
            }
            logDet[r] += VLogDet.forward(outS, row: r, eps: eps, inverse: inverse)
        }
        return Record(inverse: inverse, x: x, force: f, vIn: vIn, cache: cache, eps: eps)
    }

    func backward(_ rec: Record, _ grad: inout PhaseSpace, gLogDet: [Double], params: ParameterStore, scale: Double,
                  grads: inout [Double]) {
        let n = target.stateSize, rows = grad.v.rows
        var gS = Matrix(zeros: rows, n), gT = gS, gQ = gS, gF = gS, gvIn = gS
        var gEps = 0.0
        let e = rec.eps, half = 0.5 * e
        let outS = rec.cache.s, outT = rec.cache.t, outQ = rec.cache.q
        for r in 0..<rows {
            for i in 0..<n {
                let j = r * n + i
                let s = outS.data[j], t = outT.data[j], q = outQ.data[j], f = rec.force.data[j]
                let eq = exp(e * q), g = grad.v.data[j]
                let ld = VLogDet.backward(s: s, gLogDet: gLogDet[r], eps: e, inverse: rec.inverse)
                if rec.inverse {
                    let es = exp(-half * s)
                    let wv = rec.vIn.data[j] + half * (f * eq + sigma * t)
                    let gw = g * es
                    gvIn.data[j] = gw
                    gS.data[j] = g * wv * es * (-half) + ld.gS
                    gQ.data[j] = gw * half * f * eq * e
                    gT.data[j] = gw * half * sigma
                    gF.data[j] = gw * half * eq
                    gEps += g * wv * es * (-0.5 * s) + gw * (0.5 * (f * eq + sigma * t) + half * f * eq * q) + ld.gEps
                } else {
                    let es = exp(half * s)
                    gvIn.data[j] = g * es
                    gS.data[j] = g * rec.vIn.data[j] * es * half + ld.gS
                    gQ.data[j] = -g * half * f * eq * e
                    gT.data[j] = -g * half * sigma
                    gF.data[j] = -g * half * eq
                    gEps += g * (rec.vIn.data[j] * es * 0.5 * s - 0.5 * (f * eq + sigma * t) - half * f * eq * q) + ld.gEps
                }
            }
        }
        let (ge, gFIn) = net.backward(rec.cache, dS: gS, dT: gT, dQ: gQ, params: params, grads: &grads)
        for i in 0..<gF.data.count { gF.data[i] += gFIn.data[i] }
        let hx = target.hessianTimes(gF, at: rec.x, scale: scale)
        for i in 0..<grad.x.data.count { grad.x.data[i] += hx.data[i] + ge.data[i] }
        grad.v = gvIn
        grads[params.offset("log_eps_v") + step] += gEps * e
    }
}

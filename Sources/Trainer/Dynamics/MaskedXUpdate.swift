import Foundation
import ModelFormat

/// One of the two masked x updates of leapfrog step k (x1 on mask m^k, x2 on 1 - m^k), forward
/// and backward side by side.
///
/// On the updated coordinates (u = m^k or 1 - m^k), with s = eps S and b = eps (v e^{eps Q} + T)
/// from the x network on (x read through 1 - u, v, tau_k):
/// forward x' = wrap(Z(x, s) + b), log-det += sum_u logJ(x, s); inverse x = wrap(Z(w, -s)) with
/// w = wrap(x' - b), log-det += sum_u logJ(w, -s). Z and logJ are the scale map (``ScaleMap``:
/// linear or NCP); wrap is the identity off the circle. Coordinates outside u pass through.
struct MaskedXUpdate: SubUpdateRule {
    let step: Int
    let net: SubUpdateNetwork
    let target: TrainingTarget
    let tau: [Double]?
    /// 0/1 per coordinate: the coordinates this update changes (m^k for x1, 1 - m^k for x2).
    let update: [Double]
    /// The NCP scale map (else linear).
    let projected: Bool

    /// 0/1 per coordinate: what the network reads (1 - update).
    var read: [Double] { update.map { 1 - $0 } }

    struct Record {
        let inverse: Bool
        /// [rows, n] positions before the sub-update.
        let xIn: Matrix
        /// [rows, n] what the scale map was applied to (x for forward, wrap(x' - b) for inverse).
        let w: Matrix
        /// [rows, n] momenta (unchanged by the sub-update).
        let v: Matrix
        let cache: NetworkCall
        let eps: Double
    }

    func forward(_ state: inout PhaseSpace, logDet: inout [Double], inverse: Bool, eps: Double,
                 params: ParameterStore, scale: Double, weights w: NetWeights) -> Record {
        let n = target.stateSize, v = state.v, compact = target.isCompact
        let cache = net.forward(x: state.x, read: read, other: v, tau: tau, weights: (w.xScale, w.xTranslation, w.xTransformation), params: params)
        let xIn = state.x
        let outS = cache.s, outT = cache.t, outQ = cache.q
        var wMat = state.x
        for r in 0..<xIn.rows {
            var sum = 0.0
            for i in 0..<n where update[i] != 0 {
                let j = r * n + i
                let s = eps * outS.data[j]
                let b = eps * (v.data[j] * exp(eps * outQ.data[j]) + outT.data[j])
                if inverse {
                    let wv = compact ? wrapAngle(xIn.data[j] - b) : xIn.data[j] - b
                    wMat.data[j] = wv
                    let m = ScaleMap.forward(wv, -s, projected: projected)
                    state.x.data[j] = compact ? wrapAngle(m.z) : m.z
                    sum += m.logJ
                } else {
                    let m = ScaleMap.forward(xIn.data[j], s, projected: projected)
                    state.x.data[j] = compact ? wrapAngle(m.z + b) : m.z + b
                    sum += m.logJ
                }
            }
            logDet[r] += sum
        }
        return Record(inverse: inverse, xIn: xIn, w: wMat, v: v, cache: cache, eps: eps)
    }

    func backward(_ rec: Record, _ grad: inout PhaseSpace, gLogDet: [Double], params: ParameterStore, scale: Double,
                  grads: inout [Double]) {
        let n = target.stateSize, rows = grad.x.rows
        var gS = Matrix(zeros: rows, n), gT = gS, gQ = gS
        var gxIn = grad.x  // non-updated coordinates pass through
        var gEps = 0.0
        let e = rec.eps
        let outS = rec.cache.s, outT = rec.cache.t, outQ = rec.cache.q
        for r in 0..<rows {
            for i in 0..<n where update[i] != 0 {
                let j = r * n + i
                let sRaw = outS.data[j], q = outQ.data[j], t = outT.data[j], vj = rec.v.data[j]
                let eq = exp(e * q)
                let s = e * sRaw
                let g = grad.x.data[j], gl = gLogDet[r]
                var gs: Double, gb: Double
                if rec.inverse {
                    // x = Z(w, -s), w = wrap(x_in - b); logdet += logJ(w, -s).
                    let back = ScaleMap.backward(rec.w.data[j], -s, gz: g, gLogJ: gl, projected: projected)
                    gs = -back.gs
                    gxIn.data[j] = back.gx
                    gb = -back.gx
                } else {
                    // x' = wrap(Z(x_in, s) + b); logdet += logJ(x_in, s).
                    let back = ScaleMap.backward(rec.xIn.data[j], s, gz: g, gLogJ: gl, projected: projected)
                    gxIn.data[j] = back.gx
                    gs = back.gs
                    gb = g
                }
                // s = e S; b = e (v e^{eQ} + T).
                gS.data[j] = gs * e
                gQ.data[j] = gb * e * vj * eq * e
                gT.data[j] = gb * e
                grad.v.data[j] += gb * e * eq
                gEps += gs * sRaw + gb * (vj * eq + t + e * vj * eq * q)
            }
        }
        let (ge, gvNet) = net.backward(rec.cache, dS: gS, dT: gT, dQ: gQ, params: params, grads: &grads)
        for i in 0..<gxIn.data.count { gxIn.data[i] += ge.data[i]; grad.v.data[i] += gvNet.data[i] }
        grad.x = gxIn
        grads[params.offset("log_eps_x") + step] += gEps * e
    }
}

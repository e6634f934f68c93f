import Foundation
import ModelFormat

/// Field-transformation HMC (seed 004 eqs. 9-12) as a proposal on x: z0 = f^{-1}(x), a
/// kick-drift-kick leapfrog in z on H~(z, p) = p.p/2 + S~(z), S~(z) = S(f(z)) - log|det df/dz|,
/// with z wrapped after each drift, then x' = f(z_N). The log-det handed to the sampler is
/// log|det df/dz|(z_N) - log|det df/dz|(z0), so ``ChainSampler``'s min(1, e^{H(x) - H(x') + logdet})
/// with H(x) = S(x) + p.p/2 is exactly min(1, e^{-(H~(z_N, p_N) - H~(z0, p0))}).
///
/// Exact kernel: the leapfrog followed by p -> -p is an involution in z, and x <-> z is a
/// bijection, so the map on (x, p) is one too, up to rounding and the inverse's few-ulp solve
/// (``FlowMap/inverse(x:rows:z:logDet:)``). Trajectories return their end point, with the
/// kinetic energy p.p/2 per chain (both unlike the fthmc code, whose leapfrog returns the start
/// plus half a drift and whose batched energy drops the 1/2 and sums over chains).
///
/// Cost per trajectory: N_LF + 1 evaluations of S~ and its force (one flow forward and one
/// reverse pass each), one inverse and one forward.
public final class FieldTransformedHMC: Proposal {
    public let flow: FlowMap
    public var stepSize: Double
    public var stepCount: Int
    public let capacity: Int
    private let z: Buffer, force: Buffer, action: Buffer, logDet0: Buffer, logDet1: Buffer

    public init(flow: FlowMap, stepSize: Double, stepCount: Int) {
        self.flow = flow; self.stepSize = stepSize; self.stepCount = stepCount
        capacity = flow.capacity
        let n = flow.stateSize
        z = Buffer(capacity * n); force = Buffer(capacity * n); action = Buffer(capacity)
        logDet0 = Buffer(capacity); logDet1 = Buffer(capacity)
    }

    public var kind: Schedule.Kind { .fthmc }
    public var isDirectional: Bool { false }

    public func propose(x: UnsafeMutablePointer<Double>, v: UnsafeMutablePointer<Double>, rows: Int, forward: Bool, logDet: UnsafeMutablePointer<Double>) {
        precondition(rows <= capacity)
        let n = flow.stateSize, count = rows * n
        let eps = (forward ? 1.0 : -1.0) * stepSize, half = 0.5 * eps
        let zp = z.pointer, f = force.pointer
        flow.inverse(x: x, rows: rows, z: zp, logDet: logDet0.pointer)
        flow.tildeAction(z: zp, rows: rows, force: f, action: action.pointer)
        for _ in 0..<stepCount {
            for i in 0..<count { v[i] -= half * f[i] }
            for i in 0..<count { zp[i] = Angles.wrap(zp[i] + eps * v[i]) }
            flow.tildeAction(z: zp, rows: rows, force: f, action: action.pointer)
            for i in 0..<count { v[i] -= half * f[i] }
        }
        flow.forward(z: zp, rows: rows, x: x, logDet: logDet1.pointer)
        for r in 0..<rows { logDet[r] += logDet1[r] - logDet0[r] }
    }

    public func replica(capacity: Int) -> Proposal {
        FieldTransformedHMC(flow: flow.replica(capacity: capacity), stepSize: stepSize, stepCount: stepCount)
    }
}

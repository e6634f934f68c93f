import Foundation
import ModelFormat

/// Independence Metropolis with flow proposals (seed 004 sec. 2; Albergo et al. 2019): a fresh
/// z' from the uniform prior, x' = f(z'), accepted with
/// min(1, [p(x') q(x)] / [p(x) q(x')]), q(x) = r(z) / |det df/dz|, z = f^{-1}(x), r uniform.
///
/// The prior draw is a function of the momenta the sampler draws anyway (counter-based, state
/// independent): z'_i = 2 pi Phi(p_i) - pi with Phi the standard normal distribution function,
/// exactly uniform on [-pi, pi) when p_i ~ N(0, 1). The momenta are returned unchanged, so the
/// kinetic energy cancels in the sampler's H, and the log-det handed to it,
/// log|det df/dz|(z') - log|det df/dz|(z), turns min(1, e^{H - H' + logdet}) into the ratio above.
/// The proposal does not depend on the state, so the kernel is exact (no reversibility needed).
///
/// Cost: one flow forward and one inverse per proposal; no force.
public final class FlowIndependenceProposal: Proposal {
    public let flow: FlowMap
    public let capacity: Int
    private let zNew: Buffer, zOld: Buffer, logDetNew: Buffer, logDetOld: Buffer

    public init(flow: FlowMap) {
        self.flow = flow
        capacity = flow.capacity
        let n = flow.stateSize
        zNew = Buffer(capacity * n); zOld = Buffer(capacity * n); logDetNew = Buffer(capacity); logDetOld = Buffer(capacity)
    }

    public var kind: Schedule.Kind { .flow }
    public var isDirectional: Bool { false }

    /// The uniform angle 2 pi Phi(p) - pi of a standard normal p (Phi(p) = erfc(-p / sqrt 2) / 2).
    @inline(__always)
    static func uniformAngle(_ p: Double) -> Double {
        let u = 0.5 * erfc(-p / 2.0.squareRoot())
        return Angles.wrap(2 * .pi * u - .pi)
    }

    public func propose(x: UnsafeMutablePointer<Double>, v: UnsafeMutablePointer<Double>, rows: Int, forward: Bool, logDet: UnsafeMutablePointer<Double>) {
        precondition(rows <= capacity)
        let count = rows * flow.stateSize
        let zp = zNew.pointer
        for i in 0..<count { zp[i] = Self.uniformAngle(v[i]) }
        flow.inverse(x: x, rows: rows, z: zOld.pointer, logDet: logDetOld.pointer)
        flow.forward(z: zp, rows: rows, x: x, logDet: logDetNew.pointer)
        for r in 0..<rows { logDet[r] += logDetNew[r] - logDetOld[r] }
    }

    public func replica(capacity: Int) -> Proposal { FlowIndependenceProposal(flow: flow.replica(capacity: capacity)) }
}

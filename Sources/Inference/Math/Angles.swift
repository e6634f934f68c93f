import Foundation

/// Angle arithmetic on the circle: wrapping and the non-compact projection (seed 001 sec. 26).
public enum Angles {
    /// wrap(phi) in [-pi, pi): phi - 2 pi floor((phi + pi) / 2 pi), with the rounding corner fixed:
    /// the naive formula can return -pi - 4e-16 or +pi; both are mapped into the interval.
    @inline(__always)
    public static func wrap(_ phi: Double) -> Double {
        let twoPi = 2 * Double.pi
        var r = phi - twoPi * (((phi + .pi) / twoPi).rounded(.down))
        if r < -.pi { r += twoPi }
        if r >= .pi { r -= twoPi }
        // r + 2pi can round up to exactly pi for r just below -pi: keep the interval half-open.
        if r >= .pi { r = -.pi }
        return r
    }

    /// The projected scaling y = 2 atan(a tan(x/2)) of (-pi, pi) onto itself, computed as
    /// 2 atan2(a sin(x/2), cos(x/2)), which has no pole at +-pi. log a must be given (a = e^{logA}).
    @inline(__always)
    public static func projectedScale(_ x: Double, logA: Double) -> Double {
        let h = 0.5 * x
        return 2 * atan2(exp(logA) * sin(h), cos(h))
    }

    /// log |dy/dx| of ``projectedScale(_:logA:)`` at x: log a - log(cos^2(x/2) + a^2 sin^2(x/2)) (eq. 86).
    @inline(__always)
    public static func projectedScaleLogJacobian(_ x: Double, logA: Double) -> Double {
        let h = 0.5 * x
        let c = cos(h), s = sin(h), a = exp(logA)
        return logA - log(c * c + a * a * s * s)
    }
}

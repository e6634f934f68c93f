import Foundation

/// The scaling part of an x update, applied to one coordinate: z = Z(x, s) with its
/// log-Jacobian logJ(x, s), forward and backward side by side (trainer side).
///
/// linear: z = x e^{s}, log J = s.
/// ncp:    z = 2 atan2(e^{s} sin(x/2), cos(x/2)), log J = s - log(cos^2(x/2) + e^{2s} sin^2(x/2)).
/// The inverse of either map is the same map with -s (applied to the translated value).
enum ScaleMap {
    /// Forward rule: z and log J.
    @inline(__always)
    static func forward(_ x: Double, _ s: Double, projected: Bool) -> (z: Double, logJ: Double) {
        let a = exp(s)
        if !projected { return (x * a, s) }
        let h = 0.5 * x, c = cos(h), sn = sin(h)
        let d = c * c + a * a * sn * sn
        return (2 * atan2(a * sn, c), s - log(d))
    }

    /// Backward rule: given gz = dL/dz and gLogJ = dL/dlogJ at (x, s), returns dL/dx and dL/ds.
    @inline(__always)
    static func backward(_ x: Double, _ s: Double, gz: Double, gLogJ: Double, projected: Bool) -> (gx: Double, gs: Double) {
        let p = partials(x, s, projected: projected)
        return (gz * p.dzdx + gLogJ * p.dldx, gz * p.dzds + gLogJ * p.dlds)
    }

    /// dz/dx, dz/ds, dlogJ/dx, dlogJ/ds.
    @inline(__always)
    static func partials(_ x: Double, _ s: Double, projected: Bool) -> (dzdx: Double, dzds: Double, dldx: Double, dlds: Double) {
        let a = exp(s)
        if !projected { return (a, x * a, 0, 1) }
        let h = 0.5 * x, c = cos(h), sn = sin(h)
        let d = c * c + a * a * sn * sn
        let sinX = 2 * sn * c
        return (a / d, a * sinX / d, -(a * a - 1) * sinX / (2 * d), 1 - 2 * a * a * sn * sn / d)
    }
}

/// wrap(phi) into [-pi, pi) (derivative 1 almost everywhere).
@inline(__always)
func wrapAngle(_ phi: Double) -> Double {
    let twoPi = 2 * Double.pi
    var r = phi - twoPi * ((phi + .pi) / twoPi).rounded(.down)
    if r < -.pi { r += twoPi }
    if r >= .pi { r -= twoPi }
    if r >= .pi { r = -.pi }
    return r
}

import Foundation

/// The scaling part of an x update, applied to one coordinate, with its log-Jacobian and all
/// partial derivatives (trainer side).
///
/// linear: z = x e^{s}, log J = s.
/// ncp:    z = 2 atan2(e^{s} sin(x/2), cos(x/2)), log J = s - log(cos^2(x/2) + e^{2s} sin^2(x/2)).
/// The inverse of either map is the same map with -s (applied to the translated value).
enum ScaleMap {
    struct Value {
        var z: Double
        var logJ: Double
        /// dz/dx, dz/ds, dlogJ/dx, dlogJ/ds
        var dzdx: Double, dzds: Double, dldx: Double, dlds: Double
    }

    @inline(__always)
    static func evaluate(_ x: Double, _ s: Double, projected: Bool) -> Value {
        let a = exp(s)
        if !projected {
            return Value(z: x * a, logJ: s, dzdx: a, dzds: x * a, dldx: 0, dlds: 1)
        }
        let h = 0.5 * x, c = cos(h), sn = sin(h)
        let d = c * c + a * a * sn * sn
        let z = 2 * atan2(a * sn, c)
        let sinX = 2 * sn * c
        return Value(z: z, logJ: s - log(d),
                     dzdx: a / d, dzds: a * sinX / d,
                     dldx: -(a * a - 1) * sinX / (2 * d), dlds: 1 - 2 * a * a * sn * sn / d)
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

import Foundation
import ModelFormat

/// A resonance of plain HMC with a Gaussian (or near-Gaussian) mode: along a principal
/// direction of standard deviation sigma, x'' = -x / sigma^2 oscillates with period 2 pi sigma,
/// so a trajectory of length L = eps * N_LF close to a multiple k of the half period pi sigma
/// maps x - mu to (-1)^k (x - mu) whatever the momentum: the chain's distance from the mode
/// barely changes and odd or even moments are biased or never mix. More trajectories cannot
/// help; another eps or N_LF, or a jittered step size (``LeapfrogDynamics/jitter``), does.
///
/// Detection (for Gaussian-mixture targets, whose covariances are known): for each component m
/// and each distinct eigenvalue sigma^2 of its covariance, r = L / (pi sigma) is resonant when
/// r >= 1/2 and the range r (1 +- F) of a jitter F lies within ``tolerance`` of the nearest
/// integer k >= 1, i.e. |r - k| + F r < tolerance (F = 0: |r - k| < tolerance). The formula is
/// the exact oscillator's; the leapfrog's own rotation angle is larger by the relative amount
/// (eps / sigma)^2 / 24 to leading order (0.4 % in the example), which the tolerance absorbs for
/// small eps / sigma.
public struct HMCResonance: Equatable, Sendable {
    /// The mixture component (0-based).
    public let component: Int
    /// Standard deviation of the resonant principal direction.
    public let sigma: Double
    /// L = eps * N_LF.
    public let trajectoryLength: Double
    /// L / (pi sigma).
    public let ratio: Double
    /// The nearest integer k.
    public let multiple: Int

    /// Largest |L / (pi sigma) - k| flagged (0.05: 5 % of a half period, a rotation of at most
    /// 9 degrees from x -> +-x; farther out the chain moves within a few hundred trajectories).
    public static let tolerance = 0.05
    /// Largest dimension whose covariances are diagonalized (Jacobi sweeps, O(d^3)); larger
    /// non-diagonal covariances are not checked.
    public static let maxDimension = 64

    /// The resonances of HMC with step size `stepSize`, `steps` leapfrog steps and jitter
    /// `jitter` on `mixture`, one per component and distinct standard deviation, in component
    /// order, nearest resonance first within a component.
    public static func find(mixture: GaussianMixture, stepSize: Double, steps: Int, jitter: Double = 0) -> [HMCResonance] {
        let length = stepSize * Double(steps)
        guard length.isFinite, length > 0 else { return [] }
        var found: [HMCResonance] = []
        for (m, c) in mixture.covariances.enumerated() {
            guard let variances = eigenvalues(c) else { continue }
            var seen: [Double] = []
            var own: [HMCResonance] = []
            for v in variances.sorted() where v > 0 && v.isFinite {
                if seen.contains(where: { abs($0 - v) <= 1e-12 * max($0, v) }) { continue }
                seen.append(v)
                let sigma = v.squareRoot(), r = length / (Double.pi * sigma)
                let k = r.rounded()
                guard k >= 1, abs(r - k) + jitter * r < tolerance else { continue }
                own.append(HMCResonance(component: m, sigma: sigma, trajectoryLength: length, ratio: r, multiple: Int(k)))
            }
            found += own.sorted { abs($0.ratio - Double($0.multiple)) < abs($1.ratio - Double($1.multiple)) }
        }
        return found
    }

    /// The sentence naming the cause and the remedy, e.g. "the HMC trajectory length eps*N_LF =
    /// 1 is resonant with the oscillation period of component 0 (L / (pi sigma) = 1.007) and
    /// component 1 (L / (pi sigma) = 1.007): choose another --eps or --nlf, or use --hmc-jitter".
    /// `options` names the flags that change eps or N_LF ("--eps or --nlf").
    public static func sentence(_ list: [HMCResonance], options: String) -> String? {
        guard let first = list.first else { return nil }
        let parts = list.map { String(format: "component %d (L / (pi sigma) = %.3f)", $0.component, $0.ratio) }
        let joined = parts.count <= 2 ? parts.joined(separator: " and ") : parts.dropLast().joined(separator: ", ") + " and " + (parts.last ?? "")
        return String(format: "the HMC trajectory length eps*N_LF = %g is resonant with the oscillation period of %@: choose another %@, or use --hmc-jitter",
                      first.trajectoryLength, joined, options)
    }

    /// Eigenvalues of a small symmetric matrix: the diagonal when it is diagonal, otherwise
    /// cyclic Jacobi rotations to 1e-14 relative off-diagonal mass; nil above ``maxDimension``
    /// (non-diagonal) or for a malformed matrix.
    static func eigenvalues(_ c: [[Double]]) -> [Double]? {
        let d = c.count
        guard d > 0, c.allSatisfy({ $0.count == d }) else { return nil }
        let diagonal = (0..<d).allSatisfy { i in (0..<d).allSatisfy { j in i == j || c[i][j] == 0 } }
        if diagonal { return (0..<d).map { c[$0][$0] } }
        guard d <= maxDimension else { return nil }
        var a = c
        let total = a.joined().reduce(0) { $0 + $1 * $1 }
        for _ in 0..<100 {
            var off = 0.0
            for i in 0..<d { for j in 0..<d where i != j { off += a[i][j] * a[i][j] } }
            if off <= 1e-28 * total { break }
            for p in 0..<(d - 1) {
                for q in (p + 1)..<d where a[p][q] != 0 {
                    let theta = (a[q][q] - a[p][p]) / (2 * a[p][q])
                    let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let cs = 1 / (t * t + 1).squareRoot(), sn = t * cs
                    for k in 0..<d {
                        let akp = a[k][p], akq = a[k][q]
                        a[k][p] = cs * akp - sn * akq
                        a[k][q] = sn * akp + cs * akq
                    }
                    for k in 0..<d {
                        let apk = a[p][k], aqk = a[q][k]
                        a[p][k] = cs * apk - sn * aqk
                        a[q][k] = sn * apk + cs * aqk
                    }
                }
            }
        }
        return (0..<d).map { a[$0][$0] }
    }
}

import Foundation

/// The character sums of `U1Exact` past its threshold (beta > 200), in bounded time for every
/// finite beta (internal helper; `U1Exact` states the public contract).
///
/// Each ratio `c_k(theta) / c_0(0)` is `exp(rho(k - theta/2pi))` with `rho` from
/// `BesselLargeArgument` (the character integral of non-integer order differs from `I_a` by
/// `e^{-2 beta}` relative, nothing at these beta). A sum `sum_k F(k)` of such terms has
/// `F(k) ~ e^{-k^2 / (2 sigma^2)}`, `sigma^2 = beta / V`, and is cut where `V rho < -80`
/// (`e^{-80} = 1.8e-35` relative; or where the expansion's range ends, t = k^2 / beta = 160,
/// weight below e^{-76}), at `|k| <= sigma sqrt(160) (1 + 1e-2)`:
///
/// - `sigma^2 <= 8`: the integers k themselves, at most 37 nodes.
/// - `sigma^2 > 8` (Poisson regime): by Poisson summation `sum_k F(k) = sum_m Fhat(2 pi m)`, and
///   `Fhat(2 pi m) / Fhat(0)` is the density of the sum of V plaquette angles at `2 pi m`
///   relative to 0: at most `exp(-V beta (1 - cos(2 pi / V)))` up to an O(1) factor, below
///   `exp(-0.68 * 2 pi^2 * sigma^2) < e^{-107}` for V >= 3 (and `e^{-2 beta}`, `e^{-4 beta}` for
///   V = 1, 2). So the sum equals the integral `int F`, and so does `Delta * sum_j F(j Delta)` on
///   the grid `Delta = sigma / sqrt(8)` (the same bound with sigma^2 = 8): 37 nodes again.
///   The theta-dependence of Z and <Q^2> live entirely in the m != 0 terms: there
///   `ln(Z(theta)/Z(0))` and `<Q^2>` are below `e^{-100}` (relative to their scale
///   `V / (4 pi^2 beta)`), and are returned as 0.
///
/// Cost: one `BesselLargeArgument` (about 300 multiply-adds) and at most `maximumNodes` nodes of
/// a few dozen flops each, independent of beta and V.
enum U1LargeBeta {
    /// sigma^2 = beta / V above which the integer sum is replaced by its Poisson integral.
    static let poissonSigmaSquared = 8.0
    /// Terms with `V rho < -logCutoff` are dropped (relative weight below 1.8e-35).
    static let logCutoff = 80.0
    /// A defensive bound on the node count (the analysis above gives at most 37 + 1).
    static let maximumNodes = 64

    /// Node positions `nu >= 0` and their multiplicities (1 for nu = 0, 2 otherwise), with the
    /// expansion; `isPoisson` tells whether the nodes are a grid for the integral.
    struct Nodes {
        let expansion: BesselLargeArgument
        let positions: [Double]
        let isPoisson: Bool
    }

    static func nodes(beta: Double, volume: Int) -> Nodes {
        let expansion = BesselLargeArgument(x: beta)
        let v = Double(volume)
        let sigmaSquared = beta / v
        let isPoisson = sigmaSquared > poissonSigmaSquared
        let spacing = isPoisson ? (sigmaSquared / poissonSigmaSquared).squareRoot() : 1
        var positions: [Double] = [0]
        for j in 1..<maximumNodes {
            let nu = Double(j) * spacing
            guard expansion.covers(nu), v * expansion.logRatio(nu).value >= -logCutoff else { break }
            positions.append(nu)
        }
        return Nodes(expansion: expansion, positions: positions, isPoisson: isPoisson)
    }

    /// `I_1(beta) / I_0(beta)`.
    static func plaquetteInfiniteVolume(beta: Double) -> Double {
        exp(BesselLargeArgument(x: beta).logRatio(1).value)
    }

    /// `sum_k I_k' I_k^{V-1} / sum_k I_k^V`, `I_k' = (I_{k-1} + I_{k+1}) / 2`.
    static func plaquette(beta: Double, volume: Int) -> Double {
        if volume == 1 { return 1 }  // sum_k (I_{k-1} + I_{k+1}) / 2 = sum_k I_k exactly
        let grid = nodes(beta: beta, volume: volume)
        let v = Double(volume)
        var numerator = 0.0, denominator = 0.0
        for nu in grid.positions.reversed() {
            let multiplicity = nu == 0 ? 1.0 : 2.0
            let rho = grid.expansion.logRatio(nu).value
            let weight = exp(v * rho)
            // I'_nu / I_nu = (e^{rho(nu-1) - rho(nu)} + e^{rho(nu+1) - rho(nu)}) / 2; rho is even.
            let down = exp(grid.expansion.logRatio(abs(nu - 1)).value - rho)
            let up = exp(grid.expansion.logRatio(nu + 1).value - rho)
            numerator += multiplicity * weight * (down + up) / 2
            denominator += multiplicity * weight
        }
        return numerator / denominator
    }

    /// `<Q^2> = -(V / 4 pi^2) sum_k w_k (V rho'(k)^2 + rho''(k)) / sum_k w_k`, `w_k = e^{V rho(k)}`
    /// (`volume >= 3`); 0 in the Poisson regime (see the type's comment).
    static func topologicalChargeSquared(beta: Double, volume: Int) -> Double {
        let grid = nodes(beta: beta, volume: volume)
        if grid.isPoisson { return 0 }
        let v = Double(volume)
        var numerator = 0.0, denominator = 0.0
        for nu in grid.positions.reversed() {
            let multiplicity = nu == 0 ? 1.0 : 2.0
            let rho = grid.expansion.logRatio(nu)
            let weight = multiplicity * exp(v * rho.value)
            numerator += weight * (v * rho.first * rho.first + rho.second)
            denominator += weight
        }
        return -v / (4 * Double.pi * Double.pi) * numerator / denominator
    }

    /// `ln(Z(theta) / Z(0))`, `Z(theta) = sum_k exp(V rho(k - theta/2pi))`; 0 in the Poisson regime.
    static func logPartitionRatio(theta: Double, beta: Double, volume: Int) -> Double {
        let grid = nodes(beta: beta, volume: volume)
        if grid.isPoisson { return 0 }
        // Z is 2pi-periodic in theta (c_k(theta + 2pi) = c_{k-1}(theta)): reduce to |shift| <= 1/2.
        let turns = theta / (2 * Double.pi)
        let shift = turns - turns.rounded()
        let v = Double(volume)
        let cutoff = Int(grid.positions.last ?? 0) + 1
        var shifted = 0.0, unshifted = 0.0
        for k in stride(from: cutoff, through: -cutoff, by: -1) {
            let a = Double(k) - shift
            if grid.expansion.covers(a) {
                shifted += exp(v * grid.expansion.logRatio(a).value)
            }
            unshifted += exp(v * grid.expansion.logRatio(Double(k)).value)
        }
        return log(shifted / unshifted)
    }
}

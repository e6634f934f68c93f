import Foundation

/// Exact reference quantities of a Gaussian mixture `p(x) = sum_m pi_m N(x; mu_m, Sigma_m)` in R^D,
/// written in plain Swift on `[Double]` / `[[Double]]` with no dependency on the rest of
/// `Inference`, so that it can serve as an independent reference for the fast batched target.
///
/// Contract:
/// - weights must be finite, non-negative, with a positive sum; they are normalized to sum to 1;
/// - every covariance must be D x D, symmetric (to 1e-12 relative) and positive definite (its
///   Cholesky factor is computed once; failure throws);
/// - `energy(x) = -log p(x)` INCLUDING the normalization `D/2 log(2 pi) + 1/2 log det Sigma_m`
///   (a batched implementation that drops constants differs by a constant, not in the gradient);
///   it is evaluated with log-sum-exp, so it stays finite far from every mode;
/// - `energyGradient(x) = sum_m w_m(x) Sigma_m^{-1} (x - mu_m)` with the responsibilities
///   `w_m(x)`; both are accurate to a few ulps times the condition number of the Sigma_m;
/// - `mean`, `secondMoment` (E[x x^T]) and `covariance` are exact sums, no sampling.
public struct MixtureExact: Sendable {
    public enum InvalidInput: Error, Equatable {
        case empty
        case badWeights
        case dimensionMismatch(component: Int)
        case notSymmetric(component: Int)
        case notPositiveDefinite(component: Int)
    }

    public let weights: [Double]
    public let means: [[Double]]
    public let covariances: [[[Double]]]
    public var dimension: Int { means[0].count }

    /// Lower Cholesky factors L_m with Sigma_m = L_m L_m^T.
    private let choleskyFactors: [[[Double]]]
    /// log pi_m - D/2 log(2 pi) - 1/2 log det Sigma_m.
    private let logNormalizers: [Double]

    public init(weights: [Double], means: [[Double]], covariances: [[[Double]]]) throws {
        guard !weights.isEmpty, let d = means.first?.count, d > 0 else { throw InvalidInput.empty }
        guard weights.count == means.count, weights.count == covariances.count else {
            throw InvalidInput.dimensionMismatch(component: min(means.count, covariances.count))
        }
        let total = weights.reduce(0, +)
        guard weights.allSatisfy({ $0.isFinite && $0 >= 0 }), total > 0, total.isFinite else {
            throw InvalidInput.badWeights
        }
        var factors: [[[Double]]] = []
        var normalizers: [Double] = []
        for m in means.indices {
            let sigma = covariances[m]
            guard means[m].count == d, sigma.count == d, sigma.allSatisfy({ $0.count == d }) else {
                throw InvalidInput.dimensionMismatch(component: m)
            }
            for i in 0..<d {
                for j in 0..<i where abs(sigma[i][j] - sigma[j][i]) > 1e-12 * max(abs(sigma[i][j]), abs(sigma[j][i]), 1e-300) {
                    throw InvalidInput.notSymmetric(component: m)
                }
            }
            guard let l = Self.cholesky(sigma) else { throw InvalidInput.notPositiveDefinite(component: m) }
            let logDet = 2 * (0..<d).reduce(0) { $0 + log(l[$1][$1]) }
            factors.append(l)
            normalizers.append(log(weights[m] / total) - 0.5 * Double(d) * log(2 * Double.pi) - 0.5 * logDet)
        }
        self.weights = weights.map { $0 / total }
        self.means = means
        self.covariances = covariances
        self.choleskyFactors = factors
        self.logNormalizers = normalizers
    }

    // MARK: Moments

    /// `E[x] = sum_m pi_m mu_m`.
    public var mean: [Double] {
        (0..<dimension).map { i in means.indices.reduce(0) { $0 + weights[$1] * means[$1][i] } }
    }

    /// `E[x x^T] = sum_m pi_m (Sigma_m + mu_m mu_m^T)`.
    public var secondMoment: [[Double]] {
        (0..<dimension).map { i in
            (0..<dimension).map { j in
                means.indices.reduce(0) { $0 + weights[$1] * (covariances[$1][i][j] + means[$1][i] * means[$1][j]) }
            }
        }
    }

    /// `Cov[x] = E[x x^T] - E[x] E[x]^T`.
    public var covariance: [[Double]] {
        let mu = mean
        let second = secondMoment
        return (0..<dimension).map { i in (0..<dimension).map { j in second[i][j] - mu[i] * mu[j] } }
    }

    // MARK: Energy

    /// `-log p(x)` with all normalization constants.
    public func energy(_ x: [Double]) -> Double {
        energyAndGradient(x).energy
    }

    /// `d(-log p)/dx`.
    public func energyGradient(_ x: [Double]) -> [Double] {
        energyAndGradient(x).gradient
    }

    /// Both at once.
    public func energyAndGradient(_ x: [Double]) -> (energy: Double, gradient: [Double]) {
        let d = dimension
        precondition(x.count == d, "MixtureExact: point has dimension \(x.count), expected \(d)")
        var logTerms: [Double] = []
        var precisionTimesResidual: [[Double]] = []
        for m in means.indices {
            let l = choleskyFactors[m]
            // Solve L z = x - mu, then L^T y = z: y = Sigma^{-1} (x - mu), quad = |z|^2.
            var z = [Double](repeating: 0, count: d)
            for i in 0..<d {
                var s = x[i] - means[m][i]
                for j in 0..<i { s -= l[i][j] * z[j] }
                z[i] = s / l[i][i]
            }
            var y = [Double](repeating: 0, count: d)
            for i in stride(from: d - 1, through: 0, by: -1) {
                var s = z[i]
                for j in (i + 1)..<d { s -= l[j][i] * y[j] }
                y[i] = s / l[i][i]
            }
            let quadratic = z.reduce(0) { $0 + $1 * $1 }
            logTerms.append(logNormalizers[m] - 0.5 * quadratic)
            precisionTimesResidual.append(y)
        }
        let largest = logTerms.max() ?? -.infinity
        let shifted = logTerms.map { exp($0 - largest) }
        let sum = shifted.reduce(0, +)
        let logP = largest + log(sum)
        var gradient = [Double](repeating: 0, count: d)
        for m in means.indices {
            let responsibility = shifted[m] / sum
            for i in 0..<d { gradient[i] += responsibility * precisionTimesResidual[m][i] }
        }
        return (-logP, gradient)
    }

    /// Lower Cholesky factor, or nil when the matrix is not positive definite.
    private static func cholesky(_ a: [[Double]]) -> [[Double]]? {
        let n = a.count
        var l = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
        for i in 0..<n {
            for j in 0...i {
                var s = a[i][j]
                for k in 0..<j { s -= l[i][k] * l[j][k] }
                if i == j {
                    guard s > 0, s.isFinite else { return nil }
                    l[i][i] = s.squareRoot()
                } else {
                    l[i][j] = s / l[j][j]
                }
            }
        }
        return l
    }
}

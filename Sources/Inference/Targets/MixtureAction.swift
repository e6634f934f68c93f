import Foundation
import ModelFormat

/// U(x) = -log sum_m w_m N(x; mu_m, Sigma_m) in R^D, evaluated with log-sum-exp for stability.
/// dU/dx = sum_m r_m(x) Sigma_m^{-1} (x - mu_m) with responsibilities r_m = w_m N_m / sum.
public final class MixtureAction: TargetAction {
    public let mixture: GaussianMixture
    public let stateSize: Int
    public let isCompact = false
    /// Sigma_m^{-1}, row-major [D, D] each.
    let precisions: [[Double]]
    /// log w_m - (D/2) log 2pi - (1/2) log det Sigma_m
    let logNormalizers: [Double]
    /// Flat copies for the hot loop: means [k, D], precisions [k, D, D], log normalizers [k].
    private let meanTable: Buffer, precisionTable: Buffer, normalizerTable: Buffer

    public init(mixture: GaussianMixture) {
        self.mixture = mixture
        let d = mixture.dimension
        stateSize = d
        var precisions: [[Double]] = [], norms: [Double] = []
        for (m, cov) in mixture.covariances.enumerated() {
            let (inverse, logDet) = MixtureAction.invertSPD(cov)
            precisions.append(inverse)
            norms.append(log(mixture.weights[m]) - 0.5 * Double(d) * log(2 * .pi) - 0.5 * logDet)
        }
        self.precisions = precisions
        logNormalizers = norms
        meanTable = Buffer(mixture.means.flatMap { $0 })
        precisionTable = Buffer(precisions.flatMap { $0 })
        normalizerTable = Buffer(norms)
    }

    /// Inverse and log-determinant of an SPD matrix by Cholesky (sizes here are small).
    static func invertSPD(_ a: [[Double]]) -> ([Double], Double) {
        let d = a.count
        var l = [Double](repeating: 0, count: d * d)
        for i in 0..<d {
            for j in 0...i {
                var s = a[i][j]
                for k in 0..<j { s -= l[i * d + k] * l[j * d + k] }
                l[i * d + j] = i == j ? s.squareRoot() : s / l[j * d + j]
            }
        }
        var logDet = 0.0
        for i in 0..<d { logDet += 2 * log(l[i * d + i]) }
        // Solve L L^T X = I column by column.
        var inv = [Double](repeating: 0, count: d * d)
        for c in 0..<d {
            var y = [Double](repeating: 0, count: d)
            for i in 0..<d {
                var s = i == c ? 1.0 : 0.0
                for k in 0..<i { s -= l[i * d + k] * y[k] }
                y[i] = s / l[i * d + i]
            }
            for i in stride(from: d - 1, through: 0, by: -1) {
                var s = y[i]
                for k in (i + 1)..<d { s -= l[k * d + i] * inv[k * d + c] }
                inv[i * d + c] = s / l[i * d + i]
            }
        }
        return (inv, logDet)
    }

    /// log N_m terms and the quadratic-form gradient pieces for one row.
    @inline(__always)
    private func componentTerms(_ x: UnsafePointer<Double>, _ m: Int, _ delta: UnsafeMutablePointer<Double>, _ pd: UnsafeMutablePointer<Double>) -> Double {
        let d = stateSize, mu = meanTable.pointer + m * d, p = precisionTable.pointer + m * d * d
        for i in 0..<d { delta[i] = x[i] - mu[i] }
        var quad = 0.0
        for i in 0..<d {
            var s = 0.0
            for j in 0..<d { s += p[i * d + j] * delta[j] }
            pd[i] = s
            quad += delta[i] * s
        }
        return normalizerTable[m] - 0.5 * quad
    }

    public func action(_ x: UnsafePointer<Double>, rows: Int, into out: UnsafeMutablePointer<Double>) {
        evaluate(x, rows: rows, action: out, force: nil)
    }

    public func force(_ x: UnsafePointer<Double>, rows: Int, into out: UnsafeMutablePointer<Double>) {
        evaluate(x, rows: rows, action: nil, force: out)
    }

    func evaluate(_ x: UnsafePointer<Double>, rows: Int, action: UnsafeMutablePointer<Double>?, force: UnsafeMutablePointer<Double>?) {
        let d = stateSize, k = mixture.weights.count
        // Scratch on the stack (no heap allocation per call): delta [d], P_m delta [k d], log terms [k].
        withUnsafeTemporaryAllocation(of: Double.self, capacity: d + d * k + k) { scratch in
            let delta = scratch.baseAddress!, pd = delta + d, logs = pd + d * k
            for r in 0..<rows {
                let row = x + r * d
                var top = -Double.infinity
                for m in 0..<k { logs[m] = componentTerms(row, m, delta, pd + m * d); top = max(top, logs[m]) }
                var sum = 0.0
                for m in 0..<k { sum += exp(logs[m] - top) }
                if let action { action[r] = -(top + log(sum)) }
                if let force {
                    let f = force + r * d
                    for i in 0..<d { f[i] = 0 }
                    for m in 0..<k {
                        let w = exp(logs[m] - top) / sum
                        for i in 0..<d { f[i] += w * pd[m * d + i] }
                    }
                }
            }
        }
    }

    /// Responsibilities r_m(x) = w_m N_m(x) / p(x) for one point; E_p[r_m] = w_m exactly.
    public func responsibilities(_ x: [Double]) -> [Double] {
        let d = stateSize, k = mixture.weights.count
        let delta = UnsafeMutablePointer<Double>.allocate(capacity: d), pd = UnsafeMutablePointer<Double>.allocate(capacity: d)
        defer { delta.deallocate(); pd.deallocate() }
        let logs = x.withUnsafeBufferPointer { xp in (0..<k).map { componentTerms(xp.baseAddress!, $0, delta, pd) } }
        let top = logs.max() ?? -.infinity
        let e = logs.map { exp($0 - top) }
        let sum = e.reduce(0, +)
        return e.map { $0 / sum }
    }

    /// Index of the component with the largest responsibility for each row.
    public func modeIndex(_ x: UnsafePointer<Double>, rows: Int) -> [Int] {
        let d = stateSize, k = mixture.weights.count
        let delta = UnsafeMutablePointer<Double>.allocate(capacity: d), pd = UnsafeMutablePointer<Double>.allocate(capacity: d)
        defer { delta.deallocate(); pd.deallocate() }
        return (0..<rows).map { r in
            (0..<k).max { componentTerms(x + r * d, $0, delta, pd) < componentTerms(x + r * d, $1, delta, pd) }!
        }
    }

    /// Recorded per configuration: `position` (the d coordinates, CSV columns x0, x1, ...) and
    /// `mode` (int32 index of the most responsible component), as in every mixture run directory.
    public static func recordedObservables(dimension d: Int, modes: Int) -> [Observable] {
        [Observable(name: "position", shape: [d], csvColumns: (0..<d).map { "x\($0)" },
                    meaning: "the chain's point x in R^D (the state itself; CSV columns x0, x1, ...), in the units of the mixture's means"),
         Observable(name: "mode", storage: .int32, role: .modeIndex(count: modes),
                    meaning: "the index m (0-based, in the order of the means in params.json's target) of the component with the largest responsibility w_m N(x; mu_m, Sigma_m) at x",
                    domainDescription: "a component index") { $0 >= 0 && $0 <= Double(1 << 20) }]
    }

    public var observables: [Observable] { MixtureAction.recordedObservables(dimension: stateSize, modes: mixture.weights.count) }

    public func measure(_ x: UnsafePointer<Double>, rows: Int) -> [[Double]] {
        [Array(UnsafeBufferPointer(start: x, count: rows * stateSize)), modeIndex(x, rows: rows).map(Double.init)]
    }

    /// Per coordinate <x_i> and <x_i^2> (exact from ``MixtureExact``), then the mean
    /// responsibility of each component, whose exact expectation is its weight.
    public var estimators: [Estimator] {
        let exact = try? MixtureExact(weights: mixture.weights, means: mixture.means, covariances: mixture.covariances)
        var list: [Estimator] = []
        for i in 0..<stateSize {
            list.append(Estimator(name: "x[\(i)]", exact: exact?.mean[i], observable: "position", component: i))
            list.append(Estimator(name: "x[\(i)]^2", exact: exact.map { $0.secondMoment[i][i] }, observable: "position", component: i) { $0 * $0 })
        }
        for m in 0..<mixture.weights.count {
            list.append(Estimator(name: "weight[\(m)]", exact: mixture.weights[m]) { s in
                let r = self.responsibilities(Array(s["position"]))
                return m < r.count ? r[m] : .nan
            })
        }
        return list
    }
}

import Foundation
import ModelFormat

/// Gaussian mixture: U = -log sum_m w_m N_m(x), scaled by 1/T. With responsibilities r_m and
/// g_m = P_m (x - mu_m): F = sum r_m g_m; H = sum r_m P_m - sum r_m g_m g_m^T + F F^T.
struct MixtureTrainingTarget: TrainingTarget {
    let mixture: GaussianMixture
    let stateSize: Int
    let isCompact = false
    let precisions: [[Double]]
    let logNorms: [Double]

    init(mixture: GaussianMixture) {
        self.mixture = mixture
        stateSize = mixture.dimension
        var p: [[Double]] = [], l: [Double] = []
        for (m, cov) in mixture.covariances.enumerated() {
            let (inv, logDet) = MixtureTrainingTarget.inverse(cov)
            p.append(inv)
            l.append(log(mixture.weights[m]) - 0.5 * Double(stateSize) * log(2 * .pi) - 0.5 * logDet)
        }
        precisions = p
        logNorms = l
    }

    /// Gauss-Jordan inverse and log-determinant (small SPD matrices).
    static func inverse(_ a: [[Double]]) -> ([Double], Double) {
        let d = a.count
        var m = a.map { $0 }, inv = (0..<d).map { i in (0..<d).map { $0 == i ? 1.0 : 0.0 } }
        var logDet = 0.0
        for c in 0..<d {
            let pivot = (c..<d).max { abs(m[$0][c]) < abs(m[$1][c]) }!
            m.swapAt(c, pivot); inv.swapAt(c, pivot)
            let v = m[c][c]
            logDet += log(abs(v))
            for j in 0..<d { m[c][j] /= v; inv[c][j] /= v }
            for r in 0..<d where r != c {
                let f = m[r][c]
                if f != 0 { for j in 0..<d { m[r][j] -= f * m[c][j]; inv[r][j] -= f * inv[c][j] } }
            }
        }
        return (inv.flatMap { $0 }, logDet)
    }

    /// Per row: log terms l_m, responsibilities r_m, and g_m = P_m (x - mu_m).
    private func terms(_ x: Matrix, row r: Int) -> (logSum: Double, resp: [Double], g: [[Double]]) {
        let d = stateSize
        var logs: [Double] = [], gs: [[Double]] = []
        for (m, mu) in mixture.means.enumerated() {
            let delta = (0..<d).map { x.data[r * d + $0] - mu[$0] }
            let g = (0..<d).map { i in (0..<d).reduce(0) { $0 + precisions[m][i * d + $1] * delta[$1] } }
            logs.append(logNorms[m] - 0.5 * zip(delta, g).reduce(0) { $0 + $1.0 * $1.1 })
            gs.append(g)
        }
        let top = logs.max() ?? -.infinity
        let e = logs.map { exp($0 - top) }
        let sum = e.reduce(0, +)
        return (top + log(sum), e.map { $0 / sum }, gs)
    }

    func energy(_ x: Matrix, scale: Double) -> [Double] {
        (0..<x.rows).map { -scale * terms(x, row: $0).logSum }
    }

    func force(_ x: Matrix, scale: Double) -> Matrix {
        var f = Matrix(zeros: x.rows, stateSize)
        for r in 0..<x.rows {
            let t = terms(x, row: r)
            for (m, g) in t.g.enumerated() { for i in 0..<stateSize { f.data[r * stateSize + i] += scale * t.resp[m] * g[i] } }
        }
        return f
    }

    func hessianTimes(_ w: Matrix, at x: Matrix, scale: Double) -> Matrix {
        let d = stateSize
        var out = Matrix(zeros: x.rows, d)
        for r in 0..<x.rows {
            let t = terms(x, row: r)
            let wr = Array(w.data[(r * d)..<((r + 1) * d)])
            var fbar = [Double](repeating: 0, count: d)
            for (m, g) in t.g.enumerated() { for i in 0..<d { fbar[i] += t.resp[m] * g[i] } }
            let fw = zip(fbar, wr).reduce(0) { $0 + $1.0 * $1.1 }
            for (m, g) in t.g.enumerated() {
                let gw = zip(g, wr).reduce(0) { $0 + $1.0 * $1.1 }
                for i in 0..<d {
                    let pw = (0..<d).reduce(0) { $0 + precisions[m][i * d + $1] * wr[$1] }
                    out.data[r * d + i] += scale * t.resp[m] * (pw - g[i] * gw)
                }
            }
            for i in 0..<d { out.data[r * d + i] += scale * fbar[i] * fw }
        }
        return out
    }
}

extension MixtureTrainingTarget {
    /// N(0, I) positions: D normals of each chain's stream.
    func drawInitial(_ random: TrainerRandom, step: Int, chains: Range<Int>, _ purpose: TrainerRandom.Purpose) -> Matrix {
        random.normals(step: step, chains: chains, n: stateSize, purpose)
    }

    /// Squared Euclidean distance |x1 - x0|^2 (eq. 35).
    func jumpDistance(from x0: Matrix, to x1: Matrix, row r: Int) -> Double {
        let n = stateSize
        var delta = 0.0
        for i in 0..<n {
            let d = x1.data[r * n + i] - x0.data[r * n + i]
            delta += d * d
        }
        return delta
    }

    func addJumpGradient(from x0: Matrix, to x1: Matrix, row r: Int, times c: Double, into g: inout Matrix) {
        let n = stateSize
        for i in 0..<n { g.data[r * n + i] += c * (2 * (x1.data[r * n + i] - x0.data[r * n + i])) }
    }

    /// No terms beyond the ESJD term.
    func lossTerms(from x0: Matrix, to x1: Matrix, settings: LossSettings) -> TargetLossTerms? { nil }

    /// Number of chains whose nearest mode (Euclidean distance to the means) changed.
    func tunnelingSum(before: Matrix, after: Matrix) -> Double {
        let means = mixture.means
        func squaredDistance(_ m: Matrix, _ r: Int, _ k: Int) -> Double { (0..<m.cols).reduce(0.0) { $0 + pow(m[r, $1] - means[k][$1], 2) } }
        // The first mode at minimal distance (mixtures have at least one mode).
        func nearest(_ m: Matrix, _ r: Int) -> Int { (0..<means.count).min { squaredDistance(m, r, $0) < squaredDistance(m, r, $1) } ?? 0 }
        return Double((0..<before.rows).filter { nearest(before, $0) != nearest(after, $0) }.count)
    }
}

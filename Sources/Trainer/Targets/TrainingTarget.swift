import Foundation
import ModelFormat

/// A target for training: U(x) scaled by an inverse temperature (beta annealing for U(1),
/// temperature annealing for mixtures), its gradient F = dU/dx, and the Hessian-vector product
/// H w, needed because F enters both the v update and the v-network input.
protocol TrainingTarget {
    var stateSize: Int { get }
    var isCompact: Bool { get }
    /// U(x) per row at coupling `scale` (beta for U(1), 1/T for mixtures).
    func energy(_ x: Matrix, scale: Double) -> [Double]
    func force(_ x: Matrix, scale: Double) -> Matrix
    /// (d^2 U / dx dx^T) w per row, at x.
    func hessianTimes(_ w: Matrix, at x: Matrix, scale: Double) -> Matrix
}

/// 2D U(1): U = beta sum_P (1 - cos phi_P); F = beta sum_P sin(phi_P) s_P; H w = beta sum_P
/// cos(phi_P) (s_P . w) s_P, where s_P is the +1, +1, -1, -1 pattern of the plaquette's links.
struct U1TrainingTarget: TrainingTarget {
    let lattice: U1Lattice
    let stateSize: Int
    let isCompact = true
    /// Per plaquette: the four link indices (signs + + - -).
    let links: [(Int, Int, Int, Int)]

    init(lattice: U1Lattice) {
        self.lattice = lattice
        stateSize = 2 * lattice.lt * lattice.lx
        var l: [(Int, Int, Int, Int)] = []
        let lt = lattice.lt, lx = lattice.lx
        func idx(_ t: Int, _ x: Int, _ mu: Int) -> Int { lattice.linkLayout.index(t: t % lt, x: x % lx, mu: mu, lt: lt, lx: lx) }
        for t in 0..<lt { for x in 0..<lx { l.append((idx(t, x, 0), idx(t + 1, x, 1), idx(t, x + 1, 0), idx(t, x, 1))) } }
        links = l
    }

    /// Plaquette angles [rows, V].
    func plaquettes(_ x: Matrix) -> Matrix {
        var phi = Matrix(zeros: x.rows, links.count)
        for r in 0..<x.rows {
            let base = r * stateSize
            for (p, l) in links.enumerated() {
                phi.data[r * links.count + p] = x.data[base + l.0] + x.data[base + l.1] - x.data[base + l.2] - x.data[base + l.3]
            }
        }
        return phi
    }

    /// Scatters per-plaquette weights w_P onto links with the plaquette signs.
    func scatter(_ w: Matrix) -> Matrix {
        var out = Matrix(zeros: w.rows, stateSize)
        for r in 0..<w.rows {
            let base = r * stateSize
            for (p, l) in links.enumerated() {
                let g = w.data[r * links.count + p]
                out.data[base + l.0] += g; out.data[base + l.1] += g
                out.data[base + l.2] -= g; out.data[base + l.3] -= g
            }
        }
        return out
    }

    func energy(_ x: Matrix, scale beta: Double) -> [Double] {
        let phi = plaquettes(x)
        return (0..<x.rows).map { r in beta * (0..<links.count).reduce(0) { $0 + 1 - cos(phi.data[r * links.count + $1]) } }
    }

    func force(_ x: Matrix, scale beta: Double) -> Matrix {
        var w = plaquettes(x)
        for i in 0..<w.data.count { w.data[i] = beta * sin(w.data[i]) }
        return scatter(w)
    }

    func hessianTimes(_ w: Matrix, at x: Matrix, scale beta: Double) -> Matrix {
        let phi = plaquettes(x), pw = plaquettes(w)
        var g = pw
        for i in 0..<g.data.count { g.data[i] = beta * cos(phi.data[i]) * pw.data[i] }
        return scatter(g)
    }
}

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

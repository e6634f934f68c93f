import Foundation
import ModelFormat

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


extension U1TrainingTarget {
    /// Uniform link angles 2 pi u - pi in (-pi, pi), one uniform u of the chain's stream per link.
    func drawInitial(_ random: TrainerRandom, step: Int, chains: Range<Int>, _ purpose: TrainerRandom.Purpose) -> Matrix {
        var m = random.uniforms(step: step, chains: chains, n: stateSize, purpose)
        for i in 0..<m.data.count { m.data[i] = 2 * .pi * m.data[i] - .pi }
        return m
    }

    /// sum over links of 1 - cos(x1 - x0) (eq. 50).
    func jumpDistance(from x0: Matrix, to x1: Matrix, row r: Int) -> Double {
        let n = stateSize
        var delta = 0.0
        for i in 0..<n { delta += 1 - cos(x1.data[r * n + i] - x0.data[r * n + i]) }
        return delta
    }

    func addJumpGradient(from x0: Matrix, to x1: Matrix, row r: Int, times c: Double, into g: inout Matrix) {
        let n = stateSize
        for i in 0..<n { g.data[r * n + i] += c * sin(x1.data[r * n + i] - x0.data[r * n + i]) }
    }

    /// The plaquette term (eq. 77) and the charge term (eq. 80-81).
    func lossTerms(from x0: Matrix, to x1: Matrix, settings: LossSettings) -> TargetLossTerms? {
        U1LossTerms(target: self, settings: settings, phi0: plaquettes(x0), phi1: plaquettes(x1))
    }

    /// Sum over chains of |Q_int change|.
    func tunnelingSum(before: Matrix, after: Matrix) -> Double {
        let q0 = integerCharges(before), q1 = integerCharges(after)
        return zip(q0, q1).reduce(0) { $0 + abs($1.1 - $1.0) }
    }

    /// Q_int = sum wrap(phi_P) / 2 pi, rounded.
    func integerCharges(_ x: Matrix) -> [Double] {
        let phi = plaquettes(x), v = links.count
        return (0..<x.rows).map { r in ((0..<v).reduce(0) { $0 + wrapAngle(phi.data[r * v + $1]) } / (2 * .pi)).rounded() }
    }
}

import Foundation
import XCTest
@testable import Ensemble
import Inference
import ModelFormat

/// The exact torus Wilson loop against an independent evaluation of the character expansion
/// (Bessel functions by Simpson's rule here, not the runtime's trapezoid), and the Wilson-loop
/// measurement against hand-computed loops.
final class WilsonLoopExactTests: XCTestCase {
    /// I_k(b) = (1/pi) int_0^pi exp(b cos p) cos(k p) dp by composite Simpson with 4000 intervals
    /// (the integrand is smooth; the error is far below 1e-13 relative for b <= 5, k <= 30).
    static func besselI(_ k: Int, _ b: Double) -> Double {
        let n = 4000, h = Double.pi / Double(n)
        var s = 0.0
        for i in 0...n {
            let p = Double(i) * h, f = exp(b * cos(p)) * cos(Double(k) * p)
            s += (i == 0 || i == n) ? f : (i % 2 == 1 ? 4 * f : 2 * f)
        }
        return s * h / 3 / Double.pi
    }

    /// sum_k I_k^{V-A} I_{k+1}^A / sum_k I_k^V over |k| <= 30.
    static func exactLoop(beta: Double, volume: Int, area: Int) -> Double {
        let i = (0...31).map { besselI($0, beta) }
        func I(_ k: Int) -> Double { i[abs(k)] }
        var num = 0.0, den = 0.0
        for k in -30...30 {
            num += pow(I(k), Double(volume - area)) * pow(I(k + 1), Double(area))
            den += pow(I(k), Double(volume))
        }
        return num / den
    }

    func testExactWilsonLoopAgreesWithAnIndependentCharacterSum() throws {
        for (beta, volume) in [(1.0, 16), (1.5, 16), (2.0, 64), (4.0, 64), (1.0, 4)] {
            for area in [1, 2, 3, 4, 6, 9] where area < volume {
                let got = try XCTUnwrap(U1Exact.wilsonLoop(beta: beta, volume: volume, area: area))
                let want = Self.exactLoop(beta: beta, volume: volume, area: area)
                // Both are sums of positive terms of quantities accurate to ~1e-15; 1e-12 leaves room.
                XCTAssertEqual(got, want, accuracy: 1e-12, "beta \(beta) V \(volume) A \(area)")
            }
        }
        // Area 1 is the plaquette of the existing exact code (an independent implementation).
        XCTAssertEqual(try XCTUnwrap(U1Exact.wilsonLoop(beta: 4, volume: 64, area: 1)), try U1Exact.plaquette(beta: 4, volume: 64), accuracy: 1e-14)
        // Large volume: the area law (I1/I0)^A (finite-volume terms ~ (I1/I0)^(V-A) are far below 1e-12 at V = 256).
        let a = Self.besselI(1, 1.0) / Self.besselI(0, 1.0)
        XCTAssertEqual(try XCTUnwrap(U1Exact.wilsonLoop(beta: 1, volume: 256, area: 6)), pow(a, 6), accuracy: 1e-13)
        XCTAssertNil(U1Exact.wilsonLoop(beta: 1, volume: 16, area: 16))
        XCTAssertNil(U1Exact.wilsonLoop(beta: .nan, volume: 16, area: 1))
    }

    /// Every loop recomputed by walking its boundary link by link with explicit coordinates, in
    /// both link layouts, on a random configuration of a non-square lattice.
    func testWilsonLoopsEqualTheirBoundarySums() {
        for layout in LinkLayout.allCases {
            let lt = 5, lx = 4, rMax = 3
            let lattice = U1Lattice(lt: lt, lx: lx, beta: 1, linkLayout: layout)
            var g = SystemRandomNumberGenerator()
            let x = (0..<(2 * lt * lx)).map { _ in Double.random(in: -Double.pi..<Double.pi, using: &g) }
            let got = x.withUnsafeBufferPointer { WilsonLoops(lattice: lattice, rMax: rMax).measure($0.baseAddress!) }
            func link(_ t: Int, _ s: Int, _ mu: Int) -> Double { x[layout.index(t: ((t % lt) + lt) % lt, x: ((s % lx) + lx) % lx, mu: mu, lt: lt, lx: lx)] }
            for r in 1...rMax {
                for tt in 1...rMax {
                    var sum = 0.0
                    for t in 0..<lt {
                        for s in 0..<lx {
                            // Walk: up in t along x_0 at s, right in x along x_1 at t + T, down at s + R, left at t.
                            var theta = 0.0
                            for j in 0..<tt { theta += link(t + j, s, 0) }
                            for i in 0..<r { theta += link(t + tt, s + i, 1) }
                            for j in 0..<tt { theta -= link(t + j, s + r, 0) }
                            for i in 0..<r { theta -= link(t, s + i, 1) }
                            sum += cos(theta)
                        }
                    }
                    // Same terms in a different association: rounding only.
                    XCTAssertEqual(got[(r - 1) * rMax + tt - 1], sum / Double(lt * lx), accuracy: 1e-13, "\(layout) R \(r) T \(tt)")
                }
            }
            // W(1,1) is the mean plaquette computed by the runtime.
            let plaquette = x.withUnsafeBufferPointer { U1Action(lattice: lattice).measure($0.baseAddress!, rows: 1)[0][0] }
            XCTAssertEqual(got[0], plaquette, accuracy: 1e-14)
        }
    }
}

import Foundation
import XCTest
import CounterRandom

/// The shared generator against the published Philox4x32-10 known-answer vectors (Random123's
/// kat_vectors, the reference implementation of Salmon et al. 2011) and the documented
/// uniform and Box-Muller formulas recomputed here from the raw blocks.
final class CounterRandomTests: XCTestCase {
    private func block(key: UInt64, _ c: (UInt32, UInt32, UInt32, UInt32)) -> [UInt32] {
        let (a, b, cc, d) = CounterRandom(seed: key).block(CounterRandom.Stream(c.1, c.2, c.3), index: c.0)
        return [a, b, cc, d]
    }

    func testPhiloxKnownAnswers() {
        XCTAssertEqual(block(key: 0, (0, 0, 0, 0)), [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8])
        XCTAssertEqual(block(key: 0xFFFF_FFFF_FFFF_FFFF, (0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF)),
                       [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd])
        // The key's low word is k0 (0xa4093822), its high word k1 (0x299f31d0).
        XCTAssertEqual(block(key: 0x299f_31d0_a409_3822, (0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344)),
                       [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1])
    }

    func testUniformsAndNormalsFollowTheDocumentedFormulas() {
        let g = CounterRandom(seed: 77), s = CounterRandom.Stream(5, 6, 7)
        var u = [Double](repeating: 0, count: 7), z = [Double](repeating: 0, count: 7)
        g.uniforms(s, count: 7, into: &u)
        g.normals(s, count: 7, into: &z)
        for i in 0..<7 {
            let (a, b, c, d) = g.block(s, index: UInt32(i / 2))
            let bits = i % 2 == 0 ? (UInt64(a >> 5) << 26 | UInt64(b >> 6)) : (UInt64(c >> 5) << 26 | UInt64(d >> 6))
            XCTAssertEqual(u[i], (Double(bits) + 0.5) / 9_007_199_254_740_992, "uniform \(i)")
            XCTAssertTrue(u[i] > 0 && u[i] < 1)
            let (u1, u2) = g.uniforms(s, index: UInt32(i / 2))
            let r = (-2 * log(u1)).squareRoot()
            XCTAssertEqual(z[i], i % 2 == 0 ? r * cos(2 * .pi * u2) : r * sin(2 * .pi * u2), "normal \(i)")
        }
        XCTAssertNotEqual(u, { var w = [Double](repeating: 0, count: 7); g.uniforms(CounterRandom.Stream(5, 6, 8), count: 7, into: &w); return w }(),
                          "another stream word gives other numbers")
    }
}

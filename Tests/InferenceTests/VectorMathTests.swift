import Foundation
import XCTest

/// A subnormal input (1e-310 is below the smallest normal double).
private let subnormal = Double("1e-310")!
import ModelFormat
@testable import Inference

/// The SIMD elementary functions of CL2HMCKernels: accuracy against the platform libm, special
/// values, and bit-identical results on every instruction-set path.
final class VectorMathTests: XCTestCase {
    /// Distance in units in the last place of `reference`.
    private func ulps(_ value: Double, _ reference: Double) -> Double {
        if value.isNaN && reference.isNaN { return 0 }
        if value == reference { return 0 }
        guard reference.isFinite, value.isFinite else { return .infinity }
        return abs(value - reference) / max(reference.ulp, Double.leastNormalMagnitude)
    }

    private func uniforms(_ count: Int, _ lo: Double, _ hi: Double, seed: UInt64) -> [Double] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in lo + (hi - lo) * rng.uniform() }
    }

    private func apply(_ x: [Double], _ f: (UnsafePointer<Double>, UnsafeMutablePointer<Double>, Int) -> Void) -> [Double] {
        var y = [Double](repeating: 0, count: x.count)
        x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { f(xp.baseAddress!, $0.baseAddress!, x.count) } }
        return y
    }

    private func maxUlps(_ got: [Double], _ x: [Double], _ ref: (Double) -> Double) -> (Double, Double) {
        var worst = 0.0, at = 0.0
        for (g, v) in zip(got, x) {
            let e = ulps(g, ref(v))
            if e > worst { worst = e; at = v }
        }
        return (worst, at)
    }

    /// Measured against correctly rounded long-double references the kernels are within 1 ulp
    /// (exp, log), 1.5 ulp (sin, cos), 2.6 ulp (tanh), 3 ulp (atan2); glibc itself is within
    /// about 1 ulp, hence the bounds below.
    func testElementaryFunctionsMatchLibm() {
        let count = 20_000
        for (lo, hi) in [(-1.0, 1.0), (-40.0, 40.0), (-700.0, 709.0), (-1e-9, 1e-9)] {
            let x = uniforms(count, lo, hi, seed: 1)
            let (e, at) = maxUlps(apply(x) { VectorMath.exp($0, $1, count: $2) }, x, Foundation.exp)
            XCTAssertLessThanOrEqual(e, 2, "exp on [\(lo), \(hi)]: \(e) ulp at \(at)")
            let (t, tat) = maxUlps(apply(x) { VectorMath.tanh($0, $1, count: $2) }, x, Foundation.tanh)
            XCTAssertLessThanOrEqual(t, 4, "tanh on [\(lo), \(hi)]: \(t) ulp at \(tat)")
        }
        for (lo, hi) in [(-Double.pi, Double.pi), (-14.0, 14.0), (-1e-6, 1e-6), (-200.0, 200.0)] {
            let x = uniforms(count, lo, hi, seed: 2)
            var s = [Double](repeating: 0, count: count), c = s
            x.withUnsafeBufferPointer { xp in s.withUnsafeMutableBufferPointer { sp in c.withUnsafeMutableBufferPointer { cp in
                VectorMath.sincos(xp.baseAddress!, sin: sp.baseAddress!, cos: cp.baseAddress!, count: count)
            } } }
            let (es, sat) = maxUlps(s, x, Foundation.sin)
            let (ec, cat) = maxUlps(c, x, Foundation.cos)
            XCTAssertLessThanOrEqual(es, 2.5, "sin on [\(lo), \(hi)]: \(es) ulp at \(sat)")
            XCTAssertLessThanOrEqual(ec, 2.5, "cos on [\(lo), \(hi)]: \(ec) ulp at \(cat)")
        }
        for (lo, hi) in [(0.5, 2.0), (1e-3, 1e3), (0.999, 1.001)] {
            let x = uniforms(count, lo, hi, seed: 3)
            let (e, at) = maxUlps(apply(x) { VectorMath.log($0, $1, count: $2) }, x, Foundation.log)
            XCTAssertLessThanOrEqual(e, 2, "log on [\(lo), \(hi)]: \(e) ulp at \(at)")
        }
        var rng = SplitMix64(seed: 4)
        let y = (0..<count).map { _ in (2 * rng.uniform() - 1) * Foundation.pow(10, 4 * rng.uniform() - 2) }
        let x = (0..<count).map { _ in (2 * rng.uniform() - 1) * Foundation.pow(10, 4 * rng.uniform() - 2) }
        var a = [Double](repeating: 0, count: count)
        y.withUnsafeBufferPointer { yp in x.withUnsafeBufferPointer { xp in a.withUnsafeMutableBufferPointer {
            VectorMath.atan2(yp.baseAddress!, xp.baseAddress!, $0.baseAddress!, count: count)
        } } }
        let worst = (0..<count).map { ulps(a[$0], Foundation.atan2(y[$0], x[$0])) }.max()!
        XCTAssertLessThanOrEqual(worst, 4, "atan2: \(worst) ulp")
    }

    func testSpecialValues() {
        let inf = Double.infinity
        let x: [Double] = [0, -0.0, inf, -inf, .nan, subnormal, 710, -746, 20.5, -20.5]
        let e = apply(x) { VectorMath.exp($0, $1, count: $2) }
        XCTAssertEqual(e[0], 1); XCTAssertEqual(e[1], 1); XCTAssertEqual(e[2], inf); XCTAssertEqual(e[3], 0)
        XCTAssertTrue(e[4].isNaN); XCTAssertEqual(e[6], inf); XCTAssertEqual(e[7], 0)
        let t = apply(x) { VectorMath.tanh($0, $1, count: $2) }
        XCTAssertEqual(t[0].bitPattern, (0.0).bitPattern); XCTAssertEqual(t[1].bitPattern, (-0.0).bitPattern)
        XCTAssertEqual(t[2], 1); XCTAssertEqual(t[3], -1); XCTAssertTrue(t[4].isNaN); XCTAssertEqual(t[5], subnormal)
        XCTAssertEqual(t[8], 1); XCTAssertEqual(t[9], -1)
        let l = apply([0, -1, inf, .nan, 1, subnormal]) { VectorMath.log($0, $1, count: $2) }
        XCTAssertEqual(l[0], -inf); XCTAssertTrue(l[1].isNaN); XCTAssertEqual(l[2], inf); XCTAssertTrue(l[3].isNaN)
        XCTAssertEqual(l[4], 0); XCTAssertEqual(l[5], Foundation.log(subnormal), accuracy: 1e-13)
        var s = [0.0, 0.0], c = [0.0, 0.0]
        [0.0, -0.0].withUnsafeBufferPointer { xp in s.withUnsafeMutableBufferPointer { sp in c.withUnsafeMutableBufferPointer { cp in
            VectorMath.sincos(xp.baseAddress!, sin: sp.baseAddress!, cos: cp.baseAddress!, count: 2)
        } } }
        XCTAssertEqual(s[0].bitPattern, (0.0).bitPattern); XCTAssertEqual(s[1].bitPattern, (-0.0).bitPattern); XCTAssertEqual(c, [1, 1])
        let ys: [Double] = [0, -0.0, 0, -0.0, 1, -1, 0, .nan], xs: [Double] = [0, 0, -0.0, -0.0, 0, 0, -1, 1]
        var a = [Double](repeating: 0, count: ys.count)
        ys.withUnsafeBufferPointer { yp in xs.withUnsafeBufferPointer { xp in a.withUnsafeMutableBufferPointer {
            VectorMath.atan2(yp.baseAddress!, xp.baseAddress!, $0.baseAddress!, count: ys.count)
        } } }
        for i in 0..<(ys.count - 1) { XCTAssertEqual(a[i].bitPattern, Foundation.atan2(ys[i], xs[i]).bitPattern, "atan2(\(ys[i]), \(xs[i]))") }
        XCTAssertTrue(a[ys.count - 1].isNaN)
    }

    /// The vector wrap performs the operations of Angles.wrap, corners included.
    func testWrapEqualsAnglesWrapBitForBit() {
        var x = uniforms(5000, -40, 40, seed: 5)
        x += [Double.pi, -Double.pi, Double.pi.nextDown, Double.pi.nextUp, (-Double.pi).nextDown, (-Double.pi).nextUp,
              -Double.pi - 4e-16, 3 * Double.pi, -3 * Double.pi, 0, -0.0]
        let w = apply(x) { VectorMath.wrap($0, $1, count: $2) }
        for (v, r) in zip(x, w) {
            XCTAssertEqual(r.bitPattern, Angles.wrap(v).bitPattern, "wrap(\(v))")
            XCTAssertTrue(r >= -Double.pi && r < Double.pi)
        }
    }

    /// Every instruction-set path (portable, AVX2+FMA, AVX-512 where the CPU has them) gives the
    /// same bits: elementary functions, and whole L2HMC and HMC trajectories.
    func testInstructionSetsGiveIdenticalBits() throws {
        let best = VectorMath.instructionSetLevel
        defer { VectorMath.setInstructionSet(best) }
        func run() throws -> [UInt64] {
            var out: [Double] = []
            let x = uniforms(1003, -12, 12, seed: 6)
            out += apply(x) { VectorMath.exp($0, $1, count: $2) }
            out += apply(x) { VectorMath.tanh($0, $1, count: $2) }
            out += apply(x.map { abs($0) }) { VectorMath.log($0, $1, count: $2) }
            var s = [Double](repeating: 0, count: x.count), c = s
            x.withUnsafeBufferPointer { xp in s.withUnsafeMutableBufferPointer { sp in c.withUnsafeMutableBufferPointer { cp in
                VectorMath.sincos(xp.baseAddress!, sin: sp.baseAddress!, cos: cp.baseAddress!, count: x.count)
            } } }
            out += s + c
            var a = [Double](repeating: 0, count: x.count)
            x.withUnsafeBufferPointer { yp in s.withUnsafeBufferPointer { xp in a.withUnsafeMutableBufferPointer {
                VectorMath.atan2(yp.baseAddress!, xp.baseAddress!, $0.baseAddress!, count: x.count)
            } } }
            out += a
            for spec in [Fixtures.u1Sampler(lt: 4, lx: 4, nLF: 3, xNets: 2, units: [16, 16], activation: .swish),
                         Fixtures.u1Sampler(lt: 4, lx: 6, nLF: 2, layout: .perStep, xInput: .cosSinInterleaved, placement: .afterTrig,
                                            vInput: .cosSinBlocks, units: [12], activation: .tanh),
                         Fixtures.mixtureSampler()] {
                let dyn = try Fixtures.dynamics(spec, eps: 0.3, capacity: 7)
                if spec.target.isCompact && spec.network.layout == .perStep { try dyn.compress(.rank(3)) }  // factored heads
                let n = spec.stateSize
                let x0 = dyn.target.isCompact ? Fixtures.angles(7 * n, seed: 7) : Fixtures.normals(7 * n, seed: 7)
                let v0 = Fixtures.normals(7 * n, seed: 8, scale: 2)
                let f = dyn.run(x: x0, v: v0, rows: 7, forward: true)
                let b = dyn.run(x: x0, v: v0, rows: 7, forward: false)
                out += f.x + f.v + f.logDet + b.x + b.v + b.logDet
                let hmc = LeapfrogDynamics(target: dyn.target, stepSize: 0.2, stepCount: 5, capacity: 7)
                let xb = Buffer(x0), vb = Buffer(v0)
                hmc.integrate(x: xb.pointer, v: vb.pointer, rows: 7)
                out += xb.array + vb.array
            }
            return out.map(\.bitPattern)
        }
        VectorMath.setInstructionSet(best)
        let reference = try run()
        for isa in 0..<best {
            XCTAssertEqual(VectorMath.setInstructionSet(isa), isa)
            let other = try run()
            let mismatches = zip(reference, other).filter { $0 != $1 }.count
            XCTAssertEqual(mismatches, 0, "instruction set \(isa) differs from \(best) in \(mismatches) of \(reference.count) values")
        }
    }
}

import CL2HMCKernels
import Foundation
import XCTest
import ModelFormat
@testable import Inference

/// The `leaky_relu` activation of the C kernels (docs/FORMAT.md section 5.1: z for z >= 0,
/// 0.01 z for z < 0) on every instruction-set path, double and float32, against the formula
/// evaluated here in Swift, bit for bit: one IEEE multiplication by the double 0.01 is the whole
/// computation, so no tolerance applies.
final class LeakyReluKernelTests: XCTestCase {
    /// The definition, computed independently of the kernels (NaN passes through; -0.0 >= 0).
    static func leaky(_ z: Double) -> Double { z.isNaN || z >= 0 ? z : 0.01 * z }

    /// Negative, zero (both signs), positive, subnormal, huge and non-finite inputs, then
    /// normals, 3 x 37 values (37: every path's vector tail is exercised).
    static let rows = 3, cols = 37
    static func inputs() -> [Double] {
        let special: [Double] = [-1, 1, -0.0, 0.0, -2.5, 2.5, -1e-310, 1e-310, -Double.leastNonzeroMagnitude, -1e300,
                                 -Double.greatestFiniteMagnitude, -.infinity, .infinity, .nan, -3e-7, 100, -100]
        return special + Fixtures.normals(rows * cols - special.count, seed: 91, scale: 3)
    }

    /// Equality bit for bit (the sign of zero included; any NaN equals any NaN), reporting the
    /// mismatch count and the first mismatch with its input.
    private func assertSameBits<F: BinaryFloatingPoint>(_ got: [F], _ expected: [F], inputs: [F], _ label: String,
                                                        file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.count, expected.count, label, file: file, line: line)
        func same(_ a: F, _ b: F) -> Bool { (a.isNaN && b.isNaN) || (a == b && a.sign == b.sign) }
        let bad = (0..<min(got.count, expected.count)).filter { !same(got[$0], expected[$0]) }
        guard let i = bad.first else { return }
        XCTFail("\(label): \(bad.count) of \(got.count) values differ; first at \(i): input \(inputs[i]), got \(got[i]), expected \(expected[i])",
                file: file, line: line)
    }

    func testLeakyReluOnEveryInstructionSet() throws {
        let best = VectorMath.instructionSetLevel
        defer { VectorMath.setInstructionSet(best) }
        let z = Self.inputs(), rows = Self.rows, cols = Self.cols, code = Int32(L2K_LEAKY_RELU)
        XCTAssertEqual(Activation.leakyRelu.kernelCode, code)
        let expected = z.map(Self.leaky)
        XCTAssertTrue(zip(z, expected).contains { $0 < 0 && $1 != 0 && $1 != $0 }, "the inputs reach the negative branch")
        // bias -0.0: z + (-0.0) == z bit for bit (also for -0.0), so the activation alone is seen.
        let negativeZeros = [Double](repeating: -0.0, count: cols)
        // The fused first layer: fma(z, 1, 0) + b = (z + 0) + b; with b = 0.5 the pre-activation is formed here the same way.
        let half = [Double](repeating: 0.5, count: cols), ones = [Double](repeating: 1, count: cols)
        let expectedLayer = z.map { Self.leaky(($0 + 0.0) + 0.5) }
        for isa in 0...best {
            XCTAssertEqual(VectorMath.setInstructionSet(isa), isa)
            var a = z
            l2k_bias_activate(&a, rows, cols, negativeZeros, code)
            assertSameBits(a, expected, inputs: z, "bias_activate, instruction set \(isa)")
            // The fused first layer, h[r, c] = act(in1[r] w1[c] + b[c]) with w1 = 1: one column at a
            // time with the rows as inputs (a 1-wide vector tail)...
            var h = [Double](repeating: 0, count: rows * cols)
            for c in 0..<cols {
                let column = (0..<rows).map { z[$0 * cols + c] }
                var out = [Double](repeating: 0, count: rows)
                l2k_small_input_layer(column, 1, 1, ones, column, 1, 0, ones, rows, 1, half, code, &out)
                for r in 0..<rows { h[r * cols + c] = out[r] }
            }
            assertSameBits(h, expectedLayer, inputs: z, "small_input_layer, instruction set \(isa)")
            // ... and one row with the values as weights (37 wide: whole vectors and a tail).
            var wide = [Double](repeating: 0, count: cols)
            l2k_small_input_layer([1.0], 1, 1, Array(z[0..<cols]), [1.0], 1, 0, ones, 1, cols, half, code, &wide)
            assertSameBits(wide, Array(expectedLayer[0..<cols]), inputs: z, "small_input_layer (37 wide), instruction set \(isa)")
        }
    }

    /// The float32 twins widen to double, apply the same double formula and round once
    /// (float(0.01 * double(z))), which is not float32 arithmetic 0.01f * z on every input:
    /// the test pins the former.
    func testLeakyReluFloat32OnEveryInstructionSet() throws {
        let best = VectorMath.instructionSetLevel
        defer { VectorMath.setInstructionSet(best) }
        let z = Self.inputs().map { Float($0) }, rows = Self.rows, cols = Self.cols, code = Int32(L2K_LEAKY_RELU)
        let expected = z.map { Float(Self.leaky(Double($0))) }
        let floatArithmetic = z.map { $0.isNaN || $0 >= 0 ? $0 : Float(0.01) * $0 }
        XCTAssertNotEqual(expected.map(\.bitPattern), floatArithmetic.map(\.bitPattern),
                          "the inputs tell float(0.01 * double(z)) from 0.01f * z")
        let negativeZeros = [Float](repeating: -0.0, count: cols)
        for isa in 0...best {
            XCTAssertEqual(VectorMath.setInstructionSet(isa), isa)
            var a = z
            l2k_bias_activate_f32(&a, rows, cols, negativeZeros, code)
            assertSameBits(a, expected, inputs: z, "bias_activate_f32, instruction set \(isa)")
            var wide = [Float](repeating: 0, count: cols)
            l2k_small_input_layer_f32([1], 1, 1, Array(z[0..<cols]), [1], 1, 0, [Float](repeating: 1, count: cols), 1, cols,
                                      [Float](repeating: 0.5, count: cols), code, &wide)
            let expectedWide = z[0..<cols].map { Float(Self.leaky((Double($0) + 0.0) + 0.5)) }
            assertSameBits(wide, expectedWide, inputs: z, "small_input_layer_f32, instruction set \(isa)")
        }
    }

    /// Whole leaky_relu trajectories (float64 and float32 networks) give the same bits on every
    /// instruction set, and the activation matters (relu gives different numbers).
    func testLeakyReluTrajectoriesAreIdenticalAcrossInstructionSets() throws {
        let best = VectorMath.instructionSetLevel
        defer { VectorMath.setInstructionSet(best) }
        let spec = Fixtures.u1Sampler(lt: 2, lx: 3, nLF: 2, xNets: 2, units: [16, 16], activation: .leakyRelu)
        let n = spec.stateSize, rows = 5
        let x0 = Fixtures.angles(rows * n, seed: 92), v0 = Fixtures.normals(rows * n, seed: 93)
        func run(_ spec: SamplerSpec) throws -> [UInt64] {
            var out: [UInt64] = []
            for precision in NetworkPrecision.allCases {
                let dyn = try Fixtures.dynamics(spec, seed: 4, eps: 0.3, capacity: rows)
                dyn.setPrecision(precision)
                for forward in [true, false] {
                    let r = dyn.run(x: x0, v: v0, rows: rows, forward: forward)
                    out += (r.x + r.v + r.logDet).map(\.bitPattern)
                }
            }
            return out
        }
        VectorMath.setInstructionSet(best)
        let reference = try run(spec)
        var relu = spec
        relu.network.activation = .relu
        XCTAssertNotEqual(try run(relu), reference, "leaky_relu and relu give different trajectories")
        for isa in 0..<best {
            XCTAssertEqual(VectorMath.setInstructionSet(isa), isa)
            XCTAssertEqual(try run(spec), reference, "instruction set \(isa) differs from \(best)")
        }
    }
}

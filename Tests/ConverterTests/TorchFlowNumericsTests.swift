import Converter
import Foundation
import Inference
import ModelFormat
import XCTest

/// The converted PyTorch flows run through the runtime's flow (`FlowMap`) reproduce PyTorch's own
/// outputs (fixtures/torch-flow/*-ref.npz, written by make_torch_flow_fixtures.py): x = f(z)
/// (modulo 2 pi: the runtime works in [-pi, pi), the tutorial in [0, 2 pi)), log|det df/dz| and
/// the FT-HMC force dS~/dz, for 3 inputs, at the trained lattice and, for fthmc's 4x4 weights,
/// at 8x8 (masks are rules).
///
/// Two references, two tolerances:
/// - PyTorch in float64 (`module.double()`, the same float32 weights): both sides evaluate the
///   same formulas in float64 in a different order (atan2 against atan/tan, im2col GEMMs against
///   PyTorch's convolutions, a hand-written reverse pass against autograd). Each operation rounds
///   at ~1e-16 relative; through <= 10 layers of 3 convolutions of width <= 8 (72-term sums) and
///   the mixture, the measured differences are at most 1.7e-14 (x), 5.0e-14 (log-det, a sum of
///   <= 320 site terms) and 7.3e-13 (force, |force| <= 43, i.e. 2e-14 relative). The bounds below
///   (1e-12 for x, 1e-11 for the log-det, 1e-11 + 1e-12 |F| for the force) keep a margin of 60 to
///   200 over those and lie 1e6 or more below the float32 differences (x 2e-6..1e-5, force
///   4e-5..5e-4) and far below the O(1) change of a wrong channel, mask or sign
///   (fixtures/torch-flow/README.md).
/// - PyTorch in float32 (what upstream computes): our float64 result must be as close to it as
///   PyTorch's own float64 result is: max|ours - torch32| <= 1.01 max|torch64 - torch32| + 1e-9.
final class TorchFlowNumericsTests: XCTestCase {
    struct Case {
        let label: String
        let file: String
        let options: ConversionOptions
        let reference: String
        /// The lattice to run at (nil: the trained one).
        let lattice: U1Lattice?
    }

    func cases() throws -> [Case] {
        let fthmc = try options(preset: "fthmc", [(.lattice, "4x4"), (.beta, "3")])
        return [
            Case(label: "tutorial-8x8", file: "tutorial-8x8.pt", options: try options(preset: "tutorial-2021"), reference: "tutorial-8x8-ref.npz", lattice: nil),
            Case(label: "fthmc-4x4", file: "fthmc-4x4.tar", options: fthmc, reference: "fthmc-4x4-ref.npz", lattice: nil),
            Case(label: "fthmc-4x4 at 8x8", file: "fthmc-4x4.tar", options: fthmc, reference: "fthmc-4x4-at-8x8-ref.npz",
                 lattice: U1Lattice(lt: 8, lx: 8, beta: 3, linkLayout: .muTX)),
        ]
    }

    /// Circular distance of two angles.
    func angleDistance(_ a: Double, _ b: Double) -> Double {
        let d = (a - b).truncatingRemainder(dividingBy: 2 * Double.pi)
        return min(abs(d), 2 * Double.pi - abs(d))
    }

    func testConvertedFlowsReproducePyTorch() throws {
        for c in try cases() {
            let model = try Converter.convert(path: Fixtures.torchFlow(c.file), options: c.options).model
            let ref = try readNPZ(Fixtures.torchFlow(c.reference))
            func values(_ key: String) throws -> [Double] { try XCTUnwrap(ref[key], "\(c.label): \(key)").doubles() }
            let z = try values("z"), beta = try values("beta")[0]
            let map = try FlowMap(model: model, lattice: c.lattice, capacity: 3)
            let n = map.stateSize, rows = z.count / n
            XCTAssertEqual(rows, 3, c.label)
            XCTAssertEqual(map.lattice.beta, beta, "\(c.label): the reference's beta")
            var x = [Double](repeating: 0, count: rows * n), logDet = [Double](repeating: 0, count: rows)
            var force = [Double](repeating: 0, count: rows * n), tilde = [Double](repeating: 0, count: rows)
            map.forward(z: z, rows: rows, x: &x, logDet: &logDet)
            map.tildeAction(z: z, rows: rows, force: &force, action: &tilde)

            // float64 reference.
            let x64 = try values("x"), ld64 = try values("log_det"), f64 = try values("force"), st64 = try values("s_tilde")
            let dx = zip(x, x64).map { angleDistance($0, $1) }.max() ?? .infinity
            let dld = zip(logDet, ld64).map { abs($0 - $1) }.max() ?? .infinity
            let df = zip(force, f64).map { abs($0 - $1) }.max() ?? .infinity
            let fBound = zip(force, f64).allSatisfy { abs($0 - $1) <= 1e-11 + 1e-12 * abs($1) }
            // Upstream's S = -beta sum cos P; ours beta sum (1 - cos P): S~ differs by beta V.
            let volume = Double(n / 2)
            let dst = zip(tilde, st64).map { abs($0 - ($1 + beta * volume)) }.max() ?? .infinity
            XCTAssertLessThanOrEqual(dx, 1e-12, "\(c.label): x mod 2pi")
            XCTAssertLessThanOrEqual(dld, 1e-11, "\(c.label): log-det")
            XCTAssertTrue(fBound, "\(c.label): force, max diff \(df)")
            XCTAssertLessThanOrEqual(dst, 1e-10, "\(c.label): S~ + beta V")

            // float32 reference: as close as PyTorch's own float64.
            let x32 = try values("f32.x"), ld32 = try values("f32.log_det"), f32 = try values("f32.force")
            func margin(_ ours: [Double], _ r64: [Double], _ r32: [Double], angle: Bool = false) -> (Double, Double) {
                let d: (Double, Double) -> Double = angle ? angleDistance : { abs($0 - $1) }
                return (zip(ours, r32).map(d).max() ?? .infinity, zip(r64, r32).map(d).max() ?? .infinity)
            }
            for (name, (ours32, torch32)) in [("x", margin(x, x64, x32, angle: true)), ("log-det", margin(logDet, ld64, ld32)), ("force", margin(force, f64, f32))] {
                XCTAssertLessThanOrEqual(ours32, 1.01 * torch32 + 1e-9, "\(c.label): \(name) against PyTorch float32")
            }
            print(String(format: "%@: max|ours - torch64| x %.1e, log-det %.1e, force %.1e (max|F| %.1f), S~ %.1e; torch32 vs torch64: x %.1e, force %.1e",
                         c.label, dx, dld, df, f64.map(abs).max() ?? 0, dst, margin(x, x64, x32, angle: true).1, margin(force, f64, f32).1))
        }
    }

    /// The activation is a fact because it changes the map: the tutorial's weights converted with
    /// SiLU instead of LeakyReLU move x by O(1) away from PyTorch's (the comparison above can fail).
    func testAWrongActivationIsVisible() throws {
        let model = try Converter.convert(path: Fixtures.torchFlow("tutorial-8x8.pt"), options: options(preset: "tutorial-2021", [(.activation, "swish")])).model
        let ref = try readNPZ(Fixtures.torchFlow("tutorial-8x8-ref.npz"))
        let z = try XCTUnwrap(ref["z"]).doubles(), x64 = try XCTUnwrap(ref["x"]).doubles()
        let map = try FlowMap(model: model, capacity: 3)
        var x = [Double](repeating: 0, count: z.count), logDet = [Double](repeating: 0, count: 3)
        map.forward(z: z, rows: 3, x: &x, logDet: &logDet)
        let dx = zip(x, x64).map { angleDistance($0, $1) }.max() ?? 0
        XCTAssertGreaterThan(dx, 0.1)
    }
}

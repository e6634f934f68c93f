import Foundation
import XCTest
@testable import Inference
@testable import ModelFormat
import Audit

/// The runtime's flow (docs/FORMAT.md section 13) against independent references: hand-computed
/// layers, the numerical Jacobian, finite differences of S~, its own inverse, and the exact
/// tiling symmetry that makes volume transfer work.
final class FlowMapTests: XCTestCase {
    static func spec(lt: Int = 4, lx: Int = 4, layers: Int = 4, hidden: [Int] = [4, 3], nMix: Int = 2, activation: Activation = .leakyRelu) -> FlowSpec {
        FlowSpec(target: U1Lattice(lt: lt, lx: lx, beta: 1.5, linkLayout: .muTX),
                 coupling: FlowCoupling(layers: layers, nMix: nMix, kernelSize: 3, hiddenChannels: hidden, activation: activation, angleConvention: .minusPiToPi),
                 hmc: FlowHMCSettings(stepSize: 0.1, nLF: 5))
    }

    /// Random weights 3x PyTorch's default range: scales e^{s} of order e^{+-2}, so every term matters.
    static func model(_ s: FlowSpec = spec(), seed: UInt64 = 7, scale: Double = 3) throws -> L2ZModel {
        try RandomModel.make(flow: s, seed: seed, weightScale: scale)
    }

    static func randomLinks(_ count: Int, seed: UInt64) -> [Double] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in 2 * .pi * rng.uniform() - .pi }
    }

    func apply(_ flow: FlowMap, _ z: [Double], rows: Int = 1) -> (x: [Double], logDet: [Double]) {
        var x = [Double](repeating: 0, count: z.count), ld = [Double](repeating: 0, count: rows)
        flow.forward(z: z, rows: rows, x: &x, logDet: &ld)
        return (x, ld)
    }

    func testZeroWeightsGiveTheIdentity() throws {
        var m = try Self.model()
        for (name, a) in m.arrays { m.arrays[name] = try NDArray(shape: a.shape, doubles: [Double](repeating: 0, count: a.elementCount)) }
        let flow = try FlowMap(model: m, capacity: 2)
        let z = Self.randomLinks(64, seed: 1)
        let (x, ld) = apply(flow, z, rows: 2)
        // s = 0 makes every component 2 atan2(sin(theta/2), cos(theta/2)) = theta; t = 0.
        for i in z.indices { XCTAssertEqual(x[i], z[i], accuracy: 1e-14) }
        for v in ld { XCTAssertEqual(v, 0, accuracy: 1e-14) }
    }

    /// One layer with constant outputs (zero kernels, chosen biases) worked by hand: s_k = log a_k,
    /// shift c. Layer 0 has mu = 0 and offset 0: the t-links at x = 0 mod 4 move so that their
    /// plaquette becomes wrap(mean_k 2 atan(a_k tan(P/2)) + c).
    func testOneLayerWithConstantOutputsByHand() throws {
        let s = Self.spec(lt: 4, lx: 8, layers: 1, hidden: [], nMix: 2)
        var m = try Self.model(s)
        m.arrays["layer0.conv0.kernel"] = try NDArray(shape: [3, 3, 2, 3], doubles: [Double](repeating: 0, count: 54))
        let a = [0.5, 3.0], c = 0.7
        m.arrays["layer0.conv0.bias"] = try NDArray(shape: [3], doubles: [log(a[0]), log(a[1]), c])
        let flow = try FlowMap(model: m, capacity: 1)
        let z = Self.randomLinks(64, seed: 2)
        let (x, ld) = apply(flow, z)
        let lt = 4, lx = 8, v = 32
        func plaq(_ l: [Double], _ t: Int, _ x: Int) -> Double {
            l[t * lx + x] + l[v + ((t + 1) % lt) * lx + x] - l[t * lx + (x + 1) % lx] - l[v + t * lx + x]
        }
        var expectedLogDet = 0.0
        for t in 0..<lt {
            for xs in 0..<lx {
                let link = t * lx + xs
                guard xs % 4 == 0 else {
                    XCTAssertEqual(x[link], z[link], "t-link at x = \(xs) must not move")
                    XCTAssertEqual(x[v + link], z[v + link], "x-links never move in layer 0")
                    continue
                }
                let p = Angles.wrap(plaq(z, t, xs))
                let g = a.map { 2 * atan(Foundation.tan(p / 2) * $0) }.reduce(0, +) / 2
                let target = Angles.wrap(g + c)
                XCTAssertEqual(Angles.wrap(plaq(x, t, xs) - target), 0, accuracy: 1e-13, "active plaquette at (\(t), \(xs))")
                let jac = a.map { 1 / (cos(p / 2) * cos(p / 2) / $0 + $0 * sin(p / 2) * sin(p / 2)) }.reduce(0, +) / 2
                expectedLogDet += log(jac)
            }
        }
        XCTAssertEqual(ld[0], expectedLogDet, accuracy: 1e-12)
        // Frozen (x = 1, 2 mod 4) plaquettes are unchanged.
        for t in 0..<lt { for xs in 0..<lx where xs % 4 == 1 || xs % 4 == 2 { XCTAssertEqual(plaq(x, t, xs), plaq(z, t, xs), accuracy: 1e-13) } }
    }

    /// log|det df/dz| against log|det| of the central-difference Jacobian (h = 1e-6: truncation
    /// h^2 f''' ~ 1e-12 and rounding 1e-16/h ~ 1e-10 per entry, so about 1e-8 on a 32 x 32 log-det;
    /// tolerance 1e-6).
    func testLogDetMatchesTheNumericalJacobian() throws {
        for activation in [Activation.leakyRelu, .swish, .tanh] {
            let flow = try FlowMap(model: try Self.model(Self.spec(layers: 8, activation: activation), seed: 11), capacity: 1)
            let z = Self.randomLinks(32, seed: 3)
            let ld = apply(flow, z).logDet[0]
            let n = 32, h = 1e-6
            var jac = [Double](repeating: 0, count: n * n)
            for j in 0..<n {
                var up = z, down = z
                up[j] += h; down[j] -= h
                let xu = apply(flow, up).x, xd = apply(flow, down).x
                for i in 0..<n { jac[i * n + j] = Angles.wrap(xu[i] - xd[i]) / (2 * h) }
            }
            XCTAssertEqual(ld, NumericalJacobian.logAbsDeterminant(jac, size: n), accuracy: 1e-6, "\(activation)")
            XCTAssertGreaterThan(abs(ld), 0.5, "the weights must be large enough for the test to mean something")
        }
    }

    func testInverseUndoesForward() throws {
        let flow = try FlowMap(model: try Self.model(Self.spec(lt: 8, lx: 8, layers: 8), seed: 5), capacity: 3)
        let z = Self.randomLinks(3 * 128, seed: 4)
        let (x, ld) = apply(flow, z, rows: 3)
        var back = [Double](repeating: 0, count: z.count), ldBack = [Double](repeating: 0, count: 3)
        flow.inverse(x: x, rows: 3, z: &back, logDet: &ldBack)
        var worst = 0.0
        for i in z.indices { worst = max(worst, abs(Angles.wrap(back[i] - z[i]))) }
        XCTAssertLessThan(worst, 1e-12, "f^-1(f(z)) = z")
        for r in 0..<3 { XCTAssertEqual(ldBack[r], ld[r], accuracy: 1e-11) }
        XCTAssertGreaterThan(zip(x, z).map { abs(Angles.wrap($0 - $1)) }.max() ?? 0, 0.3, "the flow must move links")
    }

    /// dS~/dz from the reverse-mode pass against central differences of S~ (h = 1e-5: truncation
    /// h^2 S''' / 6 ~ 1e-9, rounding 1e-13 / h ~ 1e-8 with S~ ~ 100; tolerance 1e-6 + 1e-6 |F|).
    func testForceMatchesFiniteDifferences() throws {
        for activation in [Activation.leakyRelu, .swish] {
            let flow = try FlowMap(model: try Self.model(Self.spec(lt: 4, lx: 8, layers: 6, activation: activation), seed: 13), capacity: 2)
            let n = 64
            let z = Self.randomLinks(2 * n, seed: 6)
            var force = [Double](repeating: 0, count: 2 * n), action = [0.0, 0.0]
            flow.tildeAction(z: z, rows: 2, force: &force, action: &action)
            func tilde(_ zz: [Double]) -> Double {
                var f = [Double](repeating: 0, count: n), a = [0.0]
                flow.tildeAction(z: zz, rows: 1, force: &f, action: &a)
                return a[0]
            }
            let second = Array(z[n...])
            // S~ = S(f(z)) - log det, S from the Wilson action on x.
            let (x, ld) = apply(flow, second)
            var s = [0.0]
            flow.target.action(x, rows: 1, into: &s)
            XCTAssertEqual(action[1], s[0] - ld[0], accuracy: 1e-10)
            let h = 1e-5
            var worst = 0.0
            for j in 0..<n {
                var up = second, down = second
                up[j] += h; down[j] -= h
                let fd = (tilde(up) - tilde(down)) / (2 * h)
                XCTAssertEqual(force[n + j], fd, accuracy: 1e-6 + 1e-6 * abs(fd), "\(activation) link \(j)")
                worst = max(worst, abs(force[n + j]))
            }
            XCTAssertGreaterThan(worst, 0.1)
        }
    }

    /// Volume transfer is exact: a configuration of 8x8 that repeats a 4x4 one (period 4 in both
    /// directions, the masks' period) maps to the repetition of the 4x4 image, with 4x its log-det.
    func testATiledConfigurationMapsToTheTiledImage() throws {
        let m = try Self.model(Self.spec(lt: 4, lx: 4, layers: 8), seed: 17)
        let small = try FlowMap(model: m, capacity: 1)
        let large = try FlowMap(model: m, lattice: U1Lattice(lt: 8, lx: 8, beta: 1.5, linkLayout: .muTX), capacity: 1)
        let z = Self.randomLinks(32, seed: 8)
        var tiled = [Double](repeating: 0, count: 128)
        for mu in 0..<2 { for t in 0..<8 { for x in 0..<8 { tiled[(mu * 8 + t) * 8 + x] = z[(mu * 4 + t % 4) * 4 + x % 4] } } }
        let (xs, lds) = apply(small, z), (xl, ldl) = apply(large, tiled)
        for mu in 0..<2 { for t in 0..<8 { for x in 0..<8 {
            XCTAssertEqual(Angles.wrap(xl[(mu * 8 + t) * 8 + x] - xs[(mu * 4 + t % 4) * 4 + x % 4]), 0, accuracy: 1e-12)
        } } }
        XCTAssertEqual(ldl[0], 4 * lds[0], accuracy: 1e-10)
        XCTAssertThrowsError(try FlowMap(model: m, lattice: U1Lattice(lt: 6, lx: 8, beta: 1.5, linkLayout: .muTX), capacity: 1)) { e in
            XCTAssertEqual((e as? InferenceError)?.code, "run.model_target_mismatch")
        }
    }
}

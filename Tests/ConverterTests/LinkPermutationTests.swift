import Converter
import Foundation
import Inference
import ModelFormat
import XCTest

/// A source whose links are flattened (mu, t, x) converted into our (t, x, mu) order is the same
/// sampler: the permuted model maps permuted states to permuted states, with the same log-det.
final class LinkPermutationTests: XCTestCase {
    /// A random model on a non-square 2 x 3 lattice in the mu_t_x layout, written as a 2021-named
    /// Keras file, converted twice: kept in mu_t_x (must equal the original exactly) and
    /// permuted into t_x_mu (must be the same function).
    private func roundTrip(xInput: InputEncoding, placement: MaskPlacement?, vInput: InputEncoding,
                           file: StaticString = #filePath, line: UInt = #line) throws {
        let scratch = try Scratch()
        defer { scratch.cleanUp() }
        let (lt, lx) = (2, 3)
        let spec = SamplerSpec(target: .u1(U1Lattice(lt: lt, lx: lx, beta: 1.5, linkLayout: .muTX)),
                               dynamics: Dynamics(nLF: 2, xUpdate: .ncp, translationSign: .minus),
                               network: NetworkSpec(layout: .perStep, xNetworksPerStep: 2, xNetInput: xInput, vNetInput: vInput,
                                                    maskPlacement: placement, timeInput: true, hiddenUnits: [6, 5], activation: .tanh,
                                                    scaleHead: .tanh, transformationHead: .tanh, batchNorm: BatchNormSpec(epsilon: 0.001)))
        let original = try RandomModel.make(sampler: spec, seed: 11, epsX: 0.2, epsV: 0.15, weightScale: 0.8)
        let h5 = scratch.file("mutx.h5"), masks = scratch.file("masks.npy")
        try writeKerasH5(h5, layers: kerasLayers2021(original), float64: true)
        try Data(NpyCodec.encode(original.arrays["masks"]!)).write(to: URL(fileURLWithPath: masks))

        let facts: [(FactKey, String)] = [(.lattice, "2x3"), (.beta, "1.5"), (.linkLayout, "mu_t_x"), (.epsX, "0.2"), (.epsV, "0.15"),
                                          (.masks, masks), (.translationSign, "-1"), (.xUpdate, "ncp"), (.xNetInput, xInput.rawValue),
                                          (.vNetInput, vInput.rawValue), (.timeInput, "true"), (.activation, "tanh"),
                                          (.batchNormEpsilon, "0.001"), (.epsXParametrization, "raw"), (.epsVParametrization, "raw")]
            + (placement.map { [(FactKey.maskPlacement, $0.rawValue)] } ?? [])
        let kept = try Converter.convert(path: h5, options: options(facts) { $0.outputLinkLayout = .muTX }).model
        let permuted = try Converter.convert(path: h5, options: options(facts)).model

        // Kept in its own layout, the conversion is the identity on every array.
        XCTAssertEqual(try kept.sampler, try original.sampler, file: file, line: line)
        for (name, a) in original.arrays { XCTAssertEqual(kept.arrays[name], a, "kept \(name)", file: file, line: line) }
        guard case let .u1(l) = try permuted.sampler.target else { return XCTFail("not U(1)", file: file, line: line) }
        XCTAssertEqual(l.linkLayout, .tXMu, file: file, line: line)
        XCTAssertNotEqual(permuted.arrays["masks"], original.arrays["masks"], "the masks moved", file: file, line: line)

        // perm[j] = mu_t_x index of the link with t_x_mu index j.
        var perm = [Int](repeating: 0, count: 2 * lt * lx)
        for t in 0..<lt { for x in 0..<lx { for mu in 0..<2 { perm[(t * lx + x) * 2 + mu] = (mu * lt + t) * lx + x } } }
        XCTAssertNotEqual(perm, Array(0..<perm.count))

        var rng = SplitMix64(seed: 5)
        for trial in 0..<6 {
            let x0 = (0..<perm.count).map { _ in Double.pi * (2 * rng.uniform() - 1) }, v0 = (0..<perm.count).map { _ in rng.normal() }
            let forward = trial % 2 == 0
            let a = try trajectory(original, x0: x0, v0: v0, forward: forward)
            let b = try trajectory(permuted, x0: perm.map { x0[$0] }, v0: perm.map { v0[$0] }, forward: forward)
            for j in 0..<perm.count {
                XCTAssertEqual(b.x[j], a.x[perm[j]], accuracy: 1e-12, "x link \(j), trial \(trial)", file: file, line: line)
                XCTAssertEqual(b.v[j], a.v[perm[j]], accuracy: 1e-12, "v link \(j), trial \(trial)", file: file, line: line)
            }
            XCTAssertEqual(b.logDet, a.logDet, accuracy: 1e-12, file: file, line: line)
            XCTAssertGreaterThan(zip(a.x, x0).map { abs($0 - $1) }.max()!, 1e-3, "the trajectory moves", file: file, line: line)
        }
    }

    func testCosSinBlocksBeforeTrig() throws { try roundTrip(xInput: .cosSinBlocks, placement: .beforeTrig, vInput: .raw) }
    func testCosSinInterleavedAfterTrigWithCosSinVInput() throws { try roundTrip(xInput: .cosSinInterleaved, placement: .afterTrig, vInput: .cosSinBlocks) }
    func testRawInputs() throws { try roundTrip(xInput: .raw, placement: nil, vInput: .cosSinInterleaved) }

    func testMaskRulesFollowTheSourceLayout() {
        for rule in MaskRule.allCases {
            let tx = rule.masks(nLF: 3, lt: 2, lx: 3, layout: .tXMu), mt = rule.masks(nLF: 3, lt: 2, lx: 3, layout: .muTX)
            for k in 0..<3 {
                XCTAssertEqual(tx[k].reduce(0) { $0 + Int($1) }, 6, "\(rule) step \(k) changes half the links")
                for t in 0..<2 { for x in 0..<3 { for mu in 0..<2 {
                    XCTAssertEqual(tx[k][(t * 3 + x) * 2 + mu], mt[k][(mu * 2 + t) * 3 + x], "\(rule) (\(t), \(x), \(mu)) step \(k)")
                } } }
                if k > 0 { XCTAssertNotEqual(tx[k], tx[k - 1], "\(rule) flips every step") }
            }
        }
        XCTAssertEqual(MaskRule.checkerboard.masks(nLF: 1, lt: 1, lx: 1, layout: .tXMu), [[0, 1]], "(0,0,mu=1) is odd: changes first at step 0")
    }
}

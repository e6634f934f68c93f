import Foundation
import XCTest
import ModelFormat
@testable import Inference

/// Samplers and random inputs for the runtime tests.
enum Fixtures {
    static func u1Sampler(lt: Int = 2, lx: Int = 3, nLF: Int = 3, layout: NetworkLayout = .shared, xNets: Int = 1,
                          xInput: InputEncoding = .cosSinBlocks, placement: MaskPlacement? = .beforeTrig, vInput: InputEncoding = .raw,
                          time: Bool = true, sign: TranslationSign = .plus, xUpdate: XUpdateForm = .ncp, units: [Int] = [8, 8],
                          activation: Activation = .relu, batchNorm: Bool = false, linkLayout: LinkLayout = .tXMu, beta: Double = 2) -> SamplerSpec {
        var weights = NetWeights.all(1)
        if xUpdate == .linear { weights.xScale = 0 }
        return SamplerSpec(
            target: .u1(U1Lattice(lt: lt, lx: lx, beta: beta, linkLayout: linkLayout)),
            dynamics: Dynamics(nLF: nLF, xUpdate: xUpdate, translationSign: sign, epsXParametrization: .raw, epsVParametrization: .epsOverOnePlusEps),
            network: NetworkSpec(layout: layout, xNetworksPerStep: xNets, xNetInput: xInput, vNetInput: vInput,
                                 maskPlacement: xInput == .raw ? nil : placement, timeInput: time, hiddenUnits: units,
                                 activation: activation, batchNorm: batchNorm ? BatchNormSpec(epsilon: 1e-3) : nil),
            netWeights: weights)
    }

    static func mixtureSampler(nLF: Int = 4, layout: NetworkLayout = .perStep, xNets: Int = 2, time: Bool = true) -> SamplerSpec {
        let cov = [[0.1, 0.0], [0.0, 0.1]]
        return SamplerSpec(
            target: .gaussianMixture(GaussianMixture(dimension: 2, weights: [0.5, 0.5], means: [[-2, 0], [2, 0]], covariances: [cov, cov])),
            dynamics: Dynamics(nLF: nLF, xUpdate: .linear),
            network: NetworkSpec(layout: layout, xNetworksPerStep: xNets, xNetInput: .raw, vNetInput: .raw, maskPlacement: nil,
                                 timeInput: time, hiddenUnits: [8, 8]))
    }

    static func target(for spec: SamplerSpec) -> TargetAction {
        switch spec.target {
        case let .u1(l): return U1Action(lattice: l)
        case let .gaussianMixture(g): return MixtureAction(mixture: g)
        }
    }

    static func dynamics(_ spec: SamplerSpec, seed: UInt64 = 1, eps: Double = 0.2, capacity: Int = 16) throws -> L2HMCDynamics {
        let model = try RandomModel.make(sampler: spec, seed: seed, epsX: eps, epsV: eps)
        return try L2HMCDynamics(model: model, target: target(for: spec), capacity: capacity)
    }

    /// Deterministic normal values.
    static func normals(_ count: Int, seed: UInt64, scale: Double = 1) -> [Double] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in scale * rng.normal() }
    }

    /// Angles uniform in [-pi, pi).
    static func angles(_ count: Int, seed: UInt64) -> [Double] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in Angles.wrap(2 * .pi * rng.uniform() - .pi) }
    }

    /// Largest angle-aware difference |wrap(a - b)| (or plain |a - b| in R^n).
    static func maxDifference(_ a: [Double], _ b: [Double], compact: Bool) -> Double {
        zip(a, b).map { compact ? abs(Angles.wrap($0 - $1)) : abs($0 - $1) }.max() ?? 0
    }
}

extension L2HMCDynamics {
    /// Array-in, array-out trajectory for tests: returns (x', v', logdet) without touching inputs.
    func run(x: [Double], v: [Double], rows: Int, forward: Bool) -> (x: [Double], v: [Double], logDet: [Double]) {
        let xb = Buffer(x), vb = Buffer(v), ld = Buffer(rows)
        if forward { self.forward(x: xb.pointer, v: vb.pointer, rows: rows, logDet: ld.pointer) } else {
            backward(x: xb.pointer, v: vb.pointer, rows: rows, logDet: ld.pointer)
        }
        return (xb.array, vb.array, ld.array)
    }
}

/// Forward then backward (and backward then forward) returns the start to 1e-12, angle-aware;
/// log-dets cancel; the trajectory is non-trivial and, on the circle, wraps links.
func assertReversible(_ dyn: L2HMCDynamics, label: String, rows: Int = 6, file: StaticString = #filePath, line: UInt = #line) throws {
    let n = dyn.target.stateSize  // the run lattice's (a local model may run at another size than its manifest's)
    let compact = dyn.target.isCompact
    let x0 = compact ? Fixtures.angles(rows * n, seed: 11) : Fixtures.normals(rows * n, seed: 11)
    let v0 = Fixtures.normals(rows * n, seed: 12, scale: 3)
    for forwardFirst in [true, false] {
        let there = dyn.run(x: x0, v: v0, rows: rows, forward: forwardFirst)
        let back = dyn.run(x: there.x, v: there.v, rows: rows, forward: !forwardFirst)
        let dx = Fixtures.maxDifference(back.x, x0, compact: compact)
        let dv = Fixtures.maxDifference(back.v, v0, compact: false)
        let dl = zip(there.logDet, back.logDet).map { abs($0 + $1) }.max()!
        XCTAssertLessThanOrEqual(dx, 1e-12, "\(label) (forward first: \(forwardFirst)): |dx|", file: file, line: line)
        XCTAssertLessThanOrEqual(dv, 1e-12, "\(label) (forward first: \(forwardFirst)): |dv|", file: file, line: line)
        XCTAssertLessThanOrEqual(dl, 1e-12, "\(label) (forward first: \(forwardFirst)): log-dets do not cancel", file: file, line: line)
        XCTAssertTrue(there.logDet.contains { abs($0) > 1e-3 }, "\(label): the test needs a non-trivial log-det", file: file, line: line)
        if compact {
            // Links crossed the cut: the wrapped displacement differs from the raw one.
            let crossings = zip(there.x, x0).filter { abs($0 - $1) > .pi }.count
            XCTAssertGreaterThan(crossings, 0, "\(label): no link wrapped; the test would not exercise wrapping", file: file, line: line)
        }
    }
}


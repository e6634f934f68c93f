import XCTest
@testable import ModelFormat

/// The canonical array table and its count come from one walker; these tests tie them together
/// over many shapes, and check both against a closed-form count written independently here.
final class ArrayTableTests: XCTestCase {
    /// Every combination of the options that change which arrays exist, on both targets.
    private func shapes() -> [SamplerSpec] {
        var out: [SamplerSpec] = []
        for layout in NetworkLayout.allCases {
            for xNets in [1, 2] {
                for time in [false, true] {
                    for batchNorm in [false, true] {
                        for units in [[3], [5, 4], [2, 3, 4]] {
                            for heads in [(SquashedHead.tanhExpCoeff, SquashedHead.tanh), (.tanh, .tanhExpCoeff), (.tanh, .tanh)] {
                                for nLF in [1, 3] {
                                    var u = TestModels.u1(nLF: nLF, layout: layout, xNets: xNets, batchNorm: batchNorm, time: time, units: units)
                                    u.network.scaleHead = heads.0; u.network.transformationHead = heads.1
                                    out.append(u)
                                    var m = TestModels.mixture(nLF: nLF)
                                    m.network.layout = layout; m.network.xNetworksPerStep = xNets; m.network.timeInput = time
                                    m.network.batchNorm = batchNorm ? BatchNormSpec(epsilon: 1e-3) : nil; m.network.hiddenUnits = units
                                    m.network.scaleHead = heads.0; m.network.transformationHead = heads.1
                                    out.append(m)
                                }
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// Probes over no network, the first, all, with and without the trajectory.
    private func probes(_ s: SamplerSpec) -> [ProbeSpec?] {
        let names = SamplerRules.networkNames(s)
        let tol = Tolerance(abs: 0, rel: 0)
        var out: [ProbeSpec?] = [nil]
        for nets in [[], [names[0]], names] {
            for trajectory in [false, true] where !nets.isEmpty || trajectory {
                out.append(ProbeSpec(batch: 3, networks: nets, trajectory: trajectory, headsTolerance: tol, trajectoryTolerance: tol, logDetTolerance: tol))
            }
        }
        return out
    }

    /// The count from FORMAT.md's table, by hand: 3 (eps_x, eps_v, masks) + per network 2 input
    /// layers x 2, time layer 2, 2 per extra hidden layer, 3 heads x 2, 4 batch-norm arrays,
    /// 1 per coefficient head; probe: 5 or 6 per network, 6 for the trajectory.
    private func closedFormCount(_ s: SamplerSpec, _ p: ProbeSpec?) -> Int {
        let net = s.network
        var perNetwork = 4 + (net.timeInput ? 2 : 0) + 2 * (net.hiddenUnits.count - 1) + 6
        if net.batchNorm != nil { perNetwork += 4 }
        if net.scaleHead == .tanhExpCoeff { perNetwork += 1 }
        if net.transformationHead == .tanhExpCoeff { perNetwork += 1 }
        let steps = net.layout == .shared ? 1 : s.dynamics.nLF
        var count = 3 + steps * (1 + net.xNetworksPerStep) * perNetwork
        if let p { count += p.networks.count * (net.timeInput ? 6 : 5) + (p.trajectory ? 6 : 0) }
        return count
    }

    func testCountEqualsTableForManyShapes() throws {
        var cases = 0
        for s in shapes() {
            try SamplerRules.validate(s)
            for p in probes(s) {
                let table = SamplerRules.expectedArrays(s, probe: p)
                let count = SamplerRules.expectedArrayCount(s, probe: p)
                // A name emitted twice would collapse in the table and show up here.
                XCTAssertEqual(count, table.count, "\(s) \(String(describing: p))")
                XCTAssertEqual(count, closedFormCount(s, p), "\(s) \(String(describing: p))")
                XCTAssertEqual(ModelSpec.l2hmc(s).expectedArrayCount(probe: p), count)
                XCTAssertEqual(ModelSpec.l2hmc(s).expectedArrays(probe: p), table)
                cases += 1
            }
        }
        XCTAssertGreaterThan(cases, 1000)
    }

    /// The largest architecture the manifest limits allow is counted without building its table
    /// (about 1.8 million arrays), quickly.
    func testLargestArchitectureIsCountedQuickly() {
        let s = TestModels.u1(lt: 2, lx: 2, nLF: 4096, layout: .perStep, xNets: 2, batchNorm: true, units: [Int](repeating: 4, count: 64))
        let start = Date()
        let count = SamplerRules.expectedArrayCount(s, probe: nil)
        XCTAssertEqual(count, closedFormCount(s, nil))
        XCTAssertGreaterThan(count, 1_000_000)
        // Three networks per step x 4096 steps, each counted by multiplication: well under a second even in debug.
        XCTAssertLessThan(Date().timeIntervalSince(start), 2)
    }

    /// Probe names come from ProbeArrayNames and are exactly the probe-role entries.
    func testProbeNamesAreTheProbeRoleEntries() {
        let s = TestModels.u1(time: true)
        let net = SamplerRules.networkNames(s)[1]
        let tol = Tolerance(abs: 0, rel: 0)
        let p = ProbeSpec(batch: 2, networks: [net], trajectory: true, headsTolerance: tol, trajectoryTolerance: tol, logDetTolerance: tol)
        let probeNames = Set(SamplerRules.expectedArrays(s, probe: p).filter { $0.value.role == .probe }.keys)
        XCTAssertEqual(probeNames, [
            "probe.xnet.0.in_x", "probe.xnet.0.in_v", "probe.xnet.0.in_t",
            "probe.xnet.0.out_scale", "probe.xnet.0.out_translation", "probe.xnet.0.out_transformation",
            "probe.trajectory.x0", "probe.trajectory.v0", "probe.trajectory.direction",
            "probe.trajectory.x1", "probe.trajectory.v1", "probe.trajectory.log_det",
        ])
        XCTAssertTrue(probeNames.allSatisfy(ProbeArrayNames.isProbe))
    }
}

/// The public target codec (used by a run's params.json) is the manifest's, strictly.
final class TargetCodecTests: XCTestCase {
    func testTargetsRoundTripAndUnknownKeysAreRefused() throws {
        let targets: [Target] = [TestModels.u1().target, TestModels.mixture().target,
                                 .u1(U1Lattice(lt: 4, lx: 8, beta: 3, linkLayout: .muTX))]
        for t in targets {
            XCTAssertEqual(try ManifestCodec.decodeTarget(ManifestCodec.encodeTarget(t)), t)
            guard case var .object(o) = ManifestCodec.encodeTarget(t) else { return XCTFail("an object") }
            o["bogus"] = .int(1)
            XCTAssertThrowsError(try ManifestCodec.decodeTarget(.object(o))) { XCTAssertEqual(($0 as? L2ZError)?.code, "manifest.unknown_key") }
            o["bogus"] = nil; o["kind"] = nil
            XCTAssertThrowsError(try ManifestCodec.decodeTarget(.object(o))) { XCTAssertEqual(($0 as? L2ZError)?.code, "manifest.missing_field") }
        }
        XCTAssertThrowsError(try ManifestCodec.decodeTarget(.object(["kind": .string("u1_2d"), "lt": .int(0), "lx": .int(2), "beta": .int(1),
                                                                      "link_layout": .string("t_x_mu")]))) {
            XCTAssertTrue("\($0)".contains("target.lt"), "\($0)")
        }
    }
}

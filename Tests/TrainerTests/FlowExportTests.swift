import Foundation
import XCTest
import ModelFormat
@testable import Trainer

/// The trainer's flow as a `.l2z` model of family `flow`: written, read back strictly, loaded
/// into the trainer again with the same parameters; the probe is what the trainer computes; the
/// trainer's initialization is the format's random flow.
final class FlowExportTests: XCTestCase {
    static let provenance = Provenance(producer: "l2hmc-swift tests", producerVersion: "0", source: "FlowExportTests")

    func testExportReadsBackAndLoadsWithTheSameParameters() throws {
        let flow = FlowFixtures.flow(layers: 4, hidden: [5, 4], nMix: 3, activation: .swish, seed: 19)
        let model = try FlowExporter.export(flow, lt: 4, lx: 8, beta: 1.75, hmc: FlowHMCSettings(stepSize: 0.1, nLF: 8), provenance: Self.provenance)
        let bytes = try L2ZWriter.encode(model)
        let read = try L2ZReader.read(bytes: bytes).model
        XCTAssertEqual(read, model)
        let spec = try read.spec.flow()
        XCTAssertEqual(spec.target, U1Lattice(lt: 4, lx: 8, beta: 1.75, linkLayout: .muTX))
        XCTAssertEqual(spec.coupling.hiddenChannels, [5, 4]); XCTAssertEqual(spec.coupling.nMix, 3); XCTAssertEqual(spec.coupling.activation, .swish)
        XCTAssertEqual(spec.hmc, FlowHMCSettings(stepSize: 0.1, nLF: 8))
        let loaded = try TrainableFlow(l2z: read)
        XCTAssertEqual(loaded.architecture, flow.architecture)
        XCTAssertEqual(loaded.params, flow.params)
        // The probe: z in [-pi, pi), and x, log-det, force recomputed by the loaded flow bit for bit
        // (same code, same order).
        let lattice = try FlowLattice(lt: 4, lx: 8, kernelSize: 3)
        let z = Matrix(rows: 3, cols: 64, data: try read.doubles(FlowProbeArrayNames.z))
        XCTAssert(z.data.allSatisfy { $0 >= -Double.pi && $0 < Double.pi })
        let f = loaded.forward(z, lattice: lattice)
        XCTAssertEqual(f.x.data, try read.doubles(FlowProbeArrayNames.x))
        XCTAssertEqual(f.logDet, try read.doubles(FlowProbeArrayNames.logDet))
        XCTAssertEqual(loaded.force(z, action: FlowGaugeAction(beta: 1.75, lattice: lattice)).data, try read.doubles(FlowProbeArrayNames.force))
    }

    /// The exported probe against the contract written out with loops (an independent path):
    /// agreement to rounding (1e-12), well inside the probe's tolerance.
    func testProbeMatchesTheContractWrittenOut() throws {
        let flow = FlowFixtures.flow(layers: 5, hidden: [4], nMix: 2, activation: .leakyRelu, seed: 29)
        let model = try FlowExporter.export(flow, lt: 8, lx: 4, beta: 2, hmc: FlowHMCSettings(stepSize: 0.2, nLF: 5), provenance: Self.provenance, probeBatch: 2)
        let z = try model.doubles(FlowProbeArrayNames.z), x = try model.doubles(FlowProbeArrayNames.x), ld = try model.doubles(FlowProbeArrayNames.logDet)
        for r in 0..<2 {
            let ref = FlowFixtures.reference(flow, z: Array(z[(r * 64)..<((r + 1) * 64)]), lt: 8, lx: 4)
            for i in 0..<64 { XCTAssertEqual(FlowFixtures.circleDifference(x[r * 64 + i], ref.x[i]), 0, accuracy: 1e-12) }
            XCTAssertEqual(ld[r], ref.logDet, accuracy: 1e-12)
        }
    }

    /// ModelFormat's random flow and the trainer's initialization draw the same numbers in the
    /// same order (PyTorch's default Conv2d bounds), so a seed means the same flow in both.
    func testInitializationEqualsTheFormatsRandomFlow() throws {
        let a = FlowArchitecture(layers: 3, hiddenChannels: [8, 8], kernelSize: 3, nMix: 2, activation: .leakyRelu)
        let spec = FlowSpec(target: U1Lattice(lt: 8, lx: 8, beta: 2, linkLayout: .muTX), coupling: a.coupling, hmc: FlowHMCSettings(stepSize: 0.1, nLF: 10))
        let random = try RandomModel.make(flow: spec, seed: 123, weightScale: 1.5)
        let flow = TrainableFlow(architecture: a, seed: 123, scale: 1.5)
        XCTAssertEqual(try TrainableFlow(l2z: random).params, flow.params)
    }

    func testWrongFamilyAndMisshapenArraysAreRefused() throws {
        let flow = FlowFixtures.flow(layers: 2, hidden: [3])
        var model = try FlowExporter.export(flow, lt: 4, lx: 4, beta: 1, hmc: FlowHMCSettings(stepSize: 0.1, nLF: 2), provenance: Self.provenance, probeBatch: 0)
        XCTAssertNil(model.probe)
        model.arrays["layer1.conv1.bias"] = try NDArray(shape: [2], doubles: [0, 0])
        XCTAssertThrowsError(try TrainableFlow(l2z: model)) { XCTAssertEqual($0 as? FlowTrainerError, .model("array layer1.conv1.bias has shape [2], expected [3]")) }
        model.arrays["layer1.conv1.bias"] = nil
        XCTAssertThrowsError(try TrainableFlow(l2z: model)) { XCTAssertEqual($0 as? FlowTrainerError, .model("array layer1.conv1.bias is missing")) }
        let l2hmc = try RandomModel.make(sampler: TrainerFixtures.u1(), seed: 1)
        XCTAssertThrowsError(try TrainableFlow(l2z: l2hmc)) { guard case .model = $0 as? FlowTrainerError else { return XCTFail("\($0)") } }
    }
}

/// The public layer-by-layer recompute (for Audit and the golden tests) against the batched pass.
final class TrainerFlowRecomputeTests: XCTestCase {
    func testLayersComposeToTheFlowAndTheirLogJSumToTheLogDet() throws {
        let flow = FlowFixtures.flow(layers: 5, hidden: [4, 3], nMix: 2, activation: .tanh, seed: 37)
        let model = try FlowExporter.export(flow, lt: 4, lx: 4, beta: 1.2, hmc: FlowHMCSettings(stepSize: 0.1, nLF: 4),
                                            provenance: FlowExportTests.provenance, probeBatch: 0)
        let z = FlowFixtures.uniformState(2, 32, seed: 3)
        let r = try TrainerFlowRecompute.run(model: model, z: z.data, rows: 2, lt: 4, lx: 4, beta: 1.2)
        let lattice = try FlowLattice(lt: 4, lx: 4, kernelSize: 3)
        let f = flow.forward(z, lattice: lattice)
        XCTAssertEqual(r.layers.count, 5)
        XCTAssertEqual(r.x, f.x.data)
        XCTAssertEqual(r.layers[4].x, f.x.data)
        XCTAssertEqual(r.force, flow.force(z, action: FlowGaugeAction(beta: 1.2, lattice: lattice)).data)
        for row in 0..<2 {
            // Summed in a different order than the batched pass: equal to rounding.
            XCTAssertEqual(r.layers.reduce(0) { $0 + $1.logJ[row] }, f.logDet[row], accuracy: 1e-12)
            XCTAssertEqual(r.logDet[row], f.logDet[row], accuracy: 1e-12)
        }
        XCTAssertEqual(r.layers[0].network.count, 2 * 16 * 3)
        // Layer 0 changes only its active links z0(t, 0).
        for i in 0..<64 where ![0, 4, 8, 12, 32, 36, 40, 44].contains(i) { XCTAssertEqual(r.layers[0].x[i], z.data[i]) }
        XCTAssertThrowsError(try TrainerFlowRecompute.run(model: model, z: z.data, rows: 2, lt: 6, lx: 4, beta: nil))
        XCTAssertThrowsError(try TrainerFlowRecompute.run(model: model, z: z.data, rows: 3, lt: 4, lx: 4, beta: nil))
    }
}

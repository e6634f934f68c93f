import Foundation
import XCTest
import ModelFormat
@testable import Trainer

/// The trainer has no forward pass for the convolution stack (format 1.3): every path that would
/// rebuild such a model in the trainer refuses it with `train.unsupported` in one line, instead
/// of silently training or recomputing a different network.
final class TrainerConvStackRefusalTests: XCTestCase {
    static func spec() -> SamplerSpec {
        var net = NetworkSpec(layout: .shared, xNetInput: .cosSinBlocks, vNetInput: .raw, maskPlacement: .afterTrig, timeInput: true, hiddenUnits: [4])
        net.convStack = ConvStackSpec(layers: [ConvStackSpec.Layer(filters: 2, kernelSize: 2, pool: 2, activation: true)], denseUnits: 3)
        return SamplerSpec(target: .u1(U1Lattice(lt: 4, lx: 4, beta: 2, linkLayout: .muTX)), dynamics: Dynamics(nLF: 2, xUpdate: .ncp), network: net)
    }

    func testLoadingAndFreshModelsAreRefused() throws {
        let model = try RandomModel.make(sampler: Self.spec(), seed: 1)
        for attempt in [{ _ = try TrainerModel(l2z: model) }, { _ = try TrainerModel(spec: Self.spec(), eps: 0.1, seed: 1) }] {
            XCTAssertThrowsError(try attempt()) { e in
                let text = "\(e)"
                XCTAssertTrue(text.hasPrefix("[train.unsupported]") && text.contains("convolution stack"), text)
                XCTAssertFalse(text.contains("\n"), text)
            }
        }
        // The same model without the stack loads (the refusal is about the stack, nothing else).
        var plain = Self.spec()
        plain.network.convStack = nil
        XCTAssertNoThrow(try TrainerModel(l2z: try RandomModel.make(sampler: plain, seed: 1)))
    }
}

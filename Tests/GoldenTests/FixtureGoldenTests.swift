import Foundation
import XCTest
import ModelFormat
import Inference

/// Every model shipped in fixtures/ loads strictly (checksums, manifest, architecture) and its
/// stored probe reproduces with this runtime: the weights still compute what their producer
/// computed. (Byte-level determinism of the writer is tested in ModelFormatTests.)
final class FixtureGoldenTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures")

    func testEveryShippedModelLoadsAndReproducesItsProbe() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.fixtures.path).filter { $0.hasSuffix(".l2z") }.sorted()
        XCTAssertTrue(files.contains("default.l2z"), "the default model of l2hmc-run must be shipped")
        for file in files {
            let model = try L2ZReader.read(path: Self.fixtures.appendingPathComponent(file).path).model
            XCTAssertNotNil(model.probe, "\(file) ships without a probe")
            let report = try XCTUnwrap(try ProbeVerifier.verify(model: model, target: makeTarget(model.spec.target)), file)
            XCTAssertFalse(report.maxDifferences.isEmpty, file)
            XCTAssertTrue(ModelInspection(model: model).warnings.isEmpty, "\(file): \(ModelInspection(model: model).warnings)")
        }
    }
}

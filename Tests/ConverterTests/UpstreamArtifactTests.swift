@testable import Converter
import Foundation
import XCTest

/// ``UpstreamArtifact`` recognizes no supported source as an artifact (every committed Keras,
/// HDF5, safetensors, torch and .l2z fixture passes through), and does recognize each artifact
/// kind (the CLI table, ConvertUpstreamArtifactCLITests, covers every spelling end to end).
final class UpstreamArtifactTests: XCTestCase {
    func testSupportedFixturesAreNotArtifacts() throws {
        let fm = FileManager.default
        var checked = 0
        for folder in ["fixtures", "fixtures/keras", "fixtures/torch", "fixtures/safetensors"] {
            let dir = Fixtures.root.appendingPathComponent(folder).path
            guard let names = try? fm.contentsOfDirectory(atPath: dir) else { continue }
            for name in names where [".h5", ".keras", ".pt", ".tar", ".safetensors", ".l2z"].contains(where: { name.hasSuffix($0) }) {
                XCTAssertNil(UpstreamArtifact.identify(dir + "/" + name), "\(folder)/\(name)")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 20)
        // PyTorch's legacy pickle is left to TorchCheckpoint (its own code and message).
        XCTAssertNil(UpstreamArtifact.identify(TorchCheckpointTests.path("real-legacy.pt")))
        // A plain directory and a missing path are left to SourcePath (not_regular_file, io.not_found).
        let scratch = try Scratch()
        defer { scratch.cleanUp() }
        XCTAssertNil(UpstreamArtifact.identify(scratch.path))
        XCTAssertNil(UpstreamArtifact.identify(scratch.file("missing.h5")))
    }

    func testEachKind() throws {
        let scratch = try Scratch()
        defer { scratch.cleanUp() }
        try FileManager.default.createDirectory(atPath: scratch.file("sm"), withIntermediateDirectories: true)
        try Data("g".utf8).write(to: URL(fileURLWithPath: scratch.file("sm/saved_model.pb")))
        XCTAssertEqual(UpstreamArtifact.identify(scratch.file("sm")), .savedModel)
        try Data().write(to: URL(fileURLWithPath: scratch.file("ckpt-1.index")))
        XCTAssertEqual(UpstreamArtifact.identify(scratch.file("ckpt-1")), .tfCheckpoint)
        XCTAssertEqual(UpstreamArtifact.identify(scratch.file("ckpt-1.index")), .tfCheckpoint)
        XCTAssertTrue(UpstreamArtifact.isDataShard("ckpt-1.data-00000-of-00001"))
        XCTAssertFalse(UpstreamArtifact.isDataShard("ckpt-1.data-00000-of-"))
        XCTAssertFalse(UpstreamArtifact.isDataShard("train.data-x-of-2"))
        // Each pickle fixture (protocols 2-5, hostile ones too) is a pickle by content and name.
        for proto in 2...5 {
            XCTAssertEqual(UpstreamArtifact.identify(PickleFixtures.path("value-protocol\(proto).pkl")), .pickle)
            let renamed = scratch.file("p\(proto).bin")
            try Data(contentsOf: URL(fileURLWithPath: PickleFixtures.path("value-protocol\(proto).pkl"))).write(to: URL(fileURLWithPath: renamed))
            XCTAssertEqual(UpstreamArtifact.identify(renamed), .pickle, "protocol \(proto) by content")
        }
        try Data("a: 1\n".utf8).write(to: URL(fileURLWithPath: scratch.file("config.yaml")))
        XCTAssertEqual(UpstreamArtifact.identify(scratch.file("config.yaml")), .yamlConfig)
        XCTAssertThrowsError(try UpstreamArtifact.check(scratch.file("config.yaml"))) { error in
            XCTAssertEqual((error as? ConvertError)?.code, "convert.not_weight_file")
        }
        // Compression magics count only under a pickle or joblib name.
        XCTAssertTrue(UpstreamArtifact.isCompressed([0x78, 0x9C]))
        XCTAssertFalse(UpstreamArtifact.isCompressed([0x78, 0x9D]))   // fails zlib's header check
        try Data([0x1F, 0x8B, 8, 0]).write(to: URL(fileURLWithPath: scratch.file("w.gz")))
        XCTAssertNil(UpstreamArtifact.identify(scratch.file("w.gz")))
    }
}

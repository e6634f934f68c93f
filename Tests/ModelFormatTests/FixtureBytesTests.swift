import Foundation
import XCTest
@testable import ModelFormat

/// The shipped fixtures read and re-encode byte-identically: the manifest bytes, and the whole
/// file through ``L2ZWriter``. A change of the manifest schema or codec that moved one byte of
/// an existing file fails here.
final class FixtureBytesTests: XCTestCase {
    private func fixtures() throws -> [(String, [UInt8])] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let dir = root.appendingPathComponent("fixtures")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".l2z") }.sorted()
        return try names.map { ($0, Array(try Data(contentsOf: dir.appendingPathComponent($0)))) }
    }

    func testFixturesReencodeByteIdentically() throws {
        let all = try fixtures()
        XCTAssertGreaterThanOrEqual(all.count, 3, "fixtures/*.l2z")
        for (name, bytes) in all {
            let result = try L2ZReader.read(bytes: bytes)
            let family = name.hasPrefix("flow") ? ModelArchitecture(name: "flow", version: 1) : ModelArchitecture(name: "l2hmc", version: 1)
            XCTAssertEqual(result.manifest.architecture, family, name)
            // The stored manifest member, found by its name in the archive.
            let stored = try XCTUnwrap(try LibZip.readMembers(bytes, layout: try bytes.withUnsafeBytes { try ZipLayout(bytes: $0, limits: ReadLimits()) })[L2ZReader.manifestMemberName], name)
            XCTAssertEqual(try CanonicalJSONWriter.encode(ManifestCodec.encode(result.manifest)), stored, "\(name): manifest bytes")
            XCTAssertEqual(try L2ZWriter.encode(result.model), bytes, "\(name): file bytes")
        }
    }
}

import Foundation
import XCTest
@testable import ModelFormat

/// `replaceExisting` (the tools' `--force`) replaces only an `.l2z`: a user's file of another kind
/// at the output path is refused with `io.foreign_output` and left byte for byte as it was.
final class L2ZOverwriteTests: XCTestCase {
    func testForceReplacesAnL2ZButNeverAForeignFileOrDirectory() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("l2hmc-overwrite-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let m = try RandomModel.make(sampler: TestModels.u1(), seed: 1)
        let model = "\(dir)/m.l2z"
        try L2ZWriter.write(m, to: model, replaceExisting: false)
        try L2ZWriter.write(m, to: model, replaceExisting: true)   // ours: replaced

        let notes = "\(dir)/notes.l2z"
        try Data("my notes, not a model".utf8).write(to: URL(fileURLWithPath: notes))
        XCTAssertThrowsError(try L2ZWriter.write(m, to: notes, replaceExisting: true)) {
            XCTAssertEqual(($0 as? L2ZError)?.code, "io.foreign_output", "\($0)")
        }
        XCTAssertEqual(try String(contentsOfFile: notes, encoding: .utf8), "my notes, not a model")
        // A zip that is not an .l2z (no marker member first) is foreign too.
        let zip = "\(dir)/other.l2z"
        try Data([0x50, 0x4B, 0x03, 0x04] + [UInt8](repeating: 0, count: 80)).write(to: URL(fileURLWithPath: zip))
        XCTAssertThrowsError(try L2ZWriter.write(m, to: zip, replaceExisting: true))
        let sub = "\(dir)/sub.l2z"
        try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: false)
        XCTAssertThrowsError(try L2ZWriter.write(m, to: sub, replaceExisting: true)) {
            XCTAssertEqual(($0 as? L2ZError)?.code, "io.foreign_output", "\($0)")
        }
    }
}

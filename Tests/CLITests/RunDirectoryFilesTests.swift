import Foundation
import XCTest

/// What a run directory holds, byte for byte where it matters to a reader: Q_int without -0.0.
final class RunDirectoryFilesTests: XCTestCase {
    /// The float64 values of a `.npy` file (header length from its bytes 8-9, version 1 format).
    static func float64s(_ path: String) throws -> [Double] {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertEqual(Array(bytes[0..<6]), Array("\u{93}NUMPY".unicodeScalars.map { UInt8($0.value) }))
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        let header = String(decoding: bytes[10..<(10 + headerLength)], as: UTF8.self)
        XCTAssertTrue(header.contains("'descr': '<f8'"), header)
        let body = Array(bytes[(10 + headerLength)...])
        return stride(from: 0, to: body.count - 7, by: 8).map { i in
            Double(bitPattern: (0..<8).reduce(UInt64(0)) { $0 | UInt64(body[i + $1]) << (8 * UInt64($1)) })
        }
    }

    /// The settings of fixtures/run-v1, whose l2hmc-run 0.1 q_int.npy holds three -0.0 among its
    /// ten zero charges: the same run now writes every zero charge as +0.0, also in the rows a
    /// version-1 directory's continuation rewrites.
    func testZeroChargesAreWrittenAsPositiveZero() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fresh = dir.appendingPathComponent("fresh").path, old = dir.appendingPathComponent("old").path
        let r = try CLI.run("l2hmc-run", ["--sampler", "hmc", "--lattice", "4x4", "--chains", "2", "--trajectories", "10", "--seed", "5",
                                          "--eps", "0.2", "--nlf", "5", "-q", "--out", fresh])
        XCTAssertEqual(r.status, 0, r.stderr)
        try FileManager.default.copyItem(atPath: CLI.repositoryRoot.appendingPathComponent("fixtures/run-v1").path, toPath: old)
        let before = try Self.float64s("\(old)/q_int.npy")
        XCTAssertTrue(before.contains { $0 == 0 && $0.sign == .minus }, "the fixture holds -0.0 (the case this test is about)")
        let resumed = try CLI.run("l2hmc-run", ["--resume", old, "--trajectories", "12", "-q"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        for path in [fresh, old] {
            let q = try Self.float64s("\(path)/q_int.npy")
            XCTAssertGreaterThanOrEqual(q.count, 20)
            XCTAssertTrue(q.contains(0), "\(path): the run has Q = 0 (the case this test is about)")
            XCTAssertFalse(q.contains { $0 == 0 && $0.sign == .minus }, "\(path): q_int.npy holds -0.0: \(q)")
            XCTAssertTrue(q.allSatisfy { $0 == $0.rounded() }, "integers")
        }
    }
}

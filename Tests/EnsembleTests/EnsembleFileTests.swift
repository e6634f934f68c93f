import Foundation
import XCTest
@testable import Ensemble
import HDF5Kit
import Inference
import ModelFormat

/// The ensemble writer and reader on their own: what h5py reads equals what `measure` reads
/// (EnsembleReader), bit for bit; resume cuts to the committed count; refusals.
final class EnsembleFileTests: XCTestCase {
    private var dir: String!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("ensemble-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    private let header = EnsembleHeader(lattice: U1Lattice(lt: 3, lx: 4, beta: 1.25, linkLayout: .muTX), seed: 18_446_744_073_709_551_615,
                                        every: 2, model: String(repeating: "ab", count: 32), chains: 2)

    /// Random angles in [-pi, pi) for one saved trajectory (2 chains x 24 links).
    private func states(_ g: inout SystemRandomNumberGenerator) -> [Double] {
        (0..<48).map { _ in Double.random(in: -Double.pi..<Double.pi, using: &g) }
    }

    func testH5pyReadsWhatTheReaderReadsBitForBit() throws {
        let path = "\(dir!)/ensemble.h5"
        let w = try EnsembleWriter.create(path: path, header: header)
        var g = SystemRandomNumberGenerator()
        var all: [Double] = []
        for t in stride(from: 2, through: 10, by: 2) {
            let s = states(&g)
            all += s
            try w.add(trajectory: t, states: s)
            if t == 6 { try w.flush() }
        }
        try w.flush()
        XCTAssertThrowsError(try w.add(trajectory: 14, states: states(&g)), "a gap is refused")
        let reader = try EnsembleReader(path: path)
        XCTAssertEqual(reader.header, header)
        XCTAssertEqual(reader.trajectories, [2, 4, 6, 8, 10])
        let read = try reader.configurations(0..<5)
        XCTAssertEqual(read.map(\.bitPattern), all.map(\.bitPattern))
        // h5py's view, dumped as raw little-endian bytes in hex.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", """
            import sys, h5py, numpy as np
            f = h5py.File(sys.argv[1], "r")
            print(f["configs"][...].astype("<f8").tobytes().hex())
            print(" ".join(str(v) for v in f["trajectory"][...]))
            print(f.attrs["seed"], f.attrs["link_layout"], f.attrs["beta"], f.attrs["lt"], f.attrs["lx"], f.attrs["chains"], f.attrs["every"])
            """, path]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        let lines = text.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 3)
        let hex = read.withUnsafeBytes { $0.map { String(format: "%02x", $0) }.joined() }
        XCTAssertEqual(lines.first, hex, "h5py's configs equal the reader's, bit for bit")
        XCTAssertEqual(lines.dropFirst().first, "2 4 6 8 10")
        XCTAssertEqual(lines.last, "18446744073709551615 mu_t_x 1.25 3 4 2 2")
    }

    func testResumeCutsRowsBeyondTheCommitAndRefusesLostRows() throws {
        let path = "\(dir!)/ensemble.h5"
        let w = try EnsembleWriter.create(path: path, header: header)
        var g = SystemRandomNumberGenerator()
        var kept: [Double] = []
        for t in stride(from: 2, through: 12, by: 2) {
            let s = states(&g)
            if t <= 7 { kept += s }
            try w.add(trajectory: t, states: s)
        }
        try w.flush()
        // The run directory committed 7 trajectories: rows of 2, 4, 6 stay.
        let r = try EnsembleWriter.resume(path: path, header: header, committed: 7)
        XCTAssertEqual(r.written, 3)
        let s = states(&g)
        try r.add(trajectory: 8, states: s)
        try r.flush()
        let reader = try EnsembleReader(path: path)
        XCTAssertEqual(reader.trajectories, [2, 4, 6, 8])
        XCTAssertEqual(try reader.configurations(0..<4), kept + s)
        reader.close()
        // More committed trajectories than saved rows: refused, file untouched.
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try EnsembleWriter.resume(path: path, header: header, committed: 20)) { e in
            XCTAssertEqual((e as? EnsembleError)?.code, "ensemble.inconsistent")
        }
        var other = header
        other.every = 3
        XCTAssertThrowsError(try EnsembleWriter.resume(path: path, header: other, committed: 6)) { e in
            XCTAssertEqual((e as? EnsembleError)?.code, "ensemble.inconsistent")
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), before)
        // A missing file is created when nothing was saved yet, refused otherwise.
        XCTAssertNoThrow(try EnsembleWriter.resume(path: "\(dir!)/new.h5", header: header, committed: 1))
        XCTAssertThrowsError(try EnsembleWriter.resume(path: "\(dir!)/none.h5", header: header, committed: 2))
    }
}

import Foundation
import XCTest
import ModelFormat
@testable import Trainer

/// The tape states what ran: stage names and steps in the documented order, the state and the
/// running log-det after each sub-update; the recomputation reports exactly that.
final class TrainerTapeTests: XCTestCase {
    func testTapeRecordsStagesStatesAndLogDetsInOrder() throws {
        let spec = TrainerFixtures.u1(nLF: 3, layout: .perStep, xNets: 2)
        let model = try TrainerFixtures.model(spec)
        let dyn = model.dynamics()
        let rows = 2, n = spec.stateSize
        let x0 = TrainerFixtures.normals(rows, n, seed: 31), v0 = TrainerFixtures.normals(rows, n, seed: 32)
        for forward in [true, false] {
            let r = dyn.run(x0: x0, v0: v0, forward: forward, params: model.params, scale: 1.2, weights: spec.netWeights)
            // Written out by hand from docs/FORMAT.md sec. 5: forward v1 x1 x2 v2 per step k = 0, 1, 2;
            // backward the inverses v2 x2 x1 v1 for k = 2, 1, 0.
            let expected = forward
                ? ["0v1", "0x1", "0x2", "0v2", "1v1", "1x1", "1x2", "1v2", "2v1", "2x1", "2x2", "2v2"]
                : ["2v2", "2x2", "2x1", "2v1", "1v2", "1x2", "1x1", "1v1", "0v2", "0x2", "0x1", "0v1"]
            XCTAssertEqual(r.tape.map { "\($0.step)\($0.stage.rawValue)" }, expected)
            XCTAssertTrue(r.tape.allSatisfy { $0.inverse == !forward })
            // The last entry is the trajectory's end, bit for bit; each entry's state feeds the next.
            let last = try XCTUnwrap(r.tape.last)
            XCTAssertEqual(last.after.x, r.x)
            XCTAssertEqual(last.after.v, r.v)
            XCTAssertEqual(last.logDet, r.logDet)
            for (before, next) in zip(r.tape, r.tape.dropFirst()) {
                switch next.record {
                case let .v(rec): XCTAssertEqual(rec.vIn, before.after.v); XCTAssertEqual(rec.x, before.after.x)
                case let .x(rec): XCTAssertEqual(rec.xIn, before.after.x); XCTAssertEqual(rec.v, before.after.v)
                }
            }
            // A v half-step changes only v, an x update only x (and only its masked coordinates).
            var previous = PhaseSpace(x: x0, v: v0)
            for entry in r.tape {
                if entry.stage.updatesMomenta { XCTAssertEqual(entry.after.x, previous.x) } else {
                    XCTAssertEqual(entry.after.v, previous.v)
                    let m = model.masks[entry.step]
                    for row in 0..<rows {
                        for i in 0..<n where (entry.stage == .x1) != (m[i] == 1) {
                            XCTAssertEqual(entry.after.x[row, i], previous.x[row, i], "\(entry.stage) must not change coordinate \(i)")
                        }
                    }
                }
                previous = entry.after
            }

            let audit = TrainerRecompute.trajectory(model, x0: x0.data, v0: v0.data, rows: rows, forward: forward, scale: 1.2)
            XCTAssertEqual(audit.subUpdates.map { "\($0.step)\($0.stage)" }, expected)
            XCTAssertEqual(audit.subUpdates.last?.logDet, audit.logDet, "the last sub-update's log-det is the trajectory's")
            XCTAssertEqual(audit.subUpdates.map(\.network),
                           expected.map { s -> String in
                               let k = s.prefix(1), stage = s.dropFirst()
                               return stage.hasPrefix("v") ? "vnet.\(k)" : stage == "x1" ? "xnet_first.\(k)" : "xnet_second.\(k)"
                           })
        }
    }
}

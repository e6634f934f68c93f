import XCTest
import Inference
import ModelFormat

/// params.json reads its target with the manifest's strict codec: both targets round-trip, and
/// every damage the former hand-written decoder refused is still refused (an unknown, missing
/// or `x-` key, a wrong type, an out-of-range size, an unknown kind or layout).
final class RunParametersTargetTests: XCTestCase {
    private func params(_ target: Target) -> RunParameters {
        let settings = RunSettings(chains: 2, trajectories: 3, seed: 7, schedule: .hmcOnly, hmcStepSize: 0.1, hmcSteps: 2)
        return RunParameters(settings: settings, target: target, modelPath: nil, modelSHA256: nil)
    }

    private let u1 = Target.u1(U1Lattice(lt: 2, lx: 4, beta: 1.5, linkLayout: .muTX))
    private let mixture = Target.gaussianMixture(GaussianMixture(dimension: 2, weights: [0.5, 0.5], means: [[-1, 0], [1, 0]],
                                                                 covariances: [[[1, 0], [0, 1]], [[0.5, 0.1], [0.1, 0.5]]]))

    func testBothTargetsRoundTrip() throws {
        for t in [u1, mixture] {
            XCTAssertEqual(try RunParameters(json: params(t).json()), params(t))
        }
    }

    /// `edit` changes the target object of a valid params.json; the result must be refused.
    private func assertRefused(_ t: Target, _ what: String, _ edit: (inout [String: JSONValue]) -> Void,
                               file: StaticString = #filePath, line: UInt = #line) {
        guard case var .object(root) = params(t).json(), case var .object(target)? = root["target"] else { return XCTFail("an object", file: file, line: line) }
        edit(&target)
        root["target"] = .object(target)
        XCTAssertThrowsError(try RunParameters(json: .object(root)), what, file: file, line: line) {
            XCTAssertTrue("\($0)".contains("params.json"), "\($0)", file: file, line: line)
        }
    }

    func testDamagedTargetsAreRefused() {
        assertRefused(u1, "unknown key") { $0["bogus"] = .int(1) }
        assertRefused(u1, "extension key") { $0["x-note"] = .string("hi") }
        assertRefused(u1, "missing beta") { $0["beta"] = nil }
        assertRefused(u1, "beta a string") { $0["beta"] = .string("1") }
        assertRefused(u1, "beta zero") { $0["beta"] = .int(0) }
        assertRefused(u1, "lt a double") { $0["lt"] = .double(2) }
        assertRefused(u1, "lx too large") { $0["lx"] = .int(4097) }
        assertRefused(u1, "unknown layout") { $0["link_layout"] = .string("x_t_mu") }
        assertRefused(u1, "unknown kind") { $0["kind"] = .string("su2") }
        assertRefused(u1, "kind missing") { $0["kind"] = nil }
        assertRefused(mixture, "dimension zero") { $0["dimension"] = .int(0) }
        assertRefused(mixture, "dimension too large") { $0["dimension"] = .int(1 << 16 + 1) }
        assertRefused(mixture, "weights not summing to 1") { $0["weights"] = .array([.double(0.5), .double(0.6)]) }
        assertRefused(mixture, "a mean not numbers") { $0["means"] = .array([.array([.string("0"), .int(0)]), .array([.int(1), .int(0)])]) }
        assertRefused(mixture, "covariances not an array") { $0["covariances"] = .int(1) }
        assertRefused(mixture, "u1 keys on a mixture") { $0["lt"] = .int(2) }
    }

    func testTargetNotAnObjectIsRefused() {
        guard case var .object(root) = params(u1).json() else { return XCTFail("an object") }
        for bad: JSONValue in [.null, .string("u1_2d"), .array([])] {
            root["target"] = bad
            XCTAssertThrowsError(try RunParameters(json: .object(root)))
        }
        root["target"] = nil
        XCTAssertThrowsError(try RunParameters(json: .object(root)))
    }
}

import ArgumentParser
import CLISupport
import Foundation
import ModelFormat
import XCTest

/// The canonical JSON writer's error reaches the tools' one error policy as a coded bad-data
/// line (it used to print `error: JSON encoding error ...` without a code).
final class ToolFailureJSONTests: XCTestCase {
    private struct Probe: ParsableCommand {}

    func testJSONEncodingErrorIsOneCodedBadDataLine() {
        var caught: Error?
        do { _ = try CanonicalJSONWriter.encode(.object(["checks": .array([.object(["max_abs_z": .double(-.infinity)])])])) } catch { caught = error }
        guard let error = caught else { return XCTFail("the writer accepted -inf") }
        let (status, line) = ToolFailure.classify(error, in: Probe.self)
        XCTAssertEqual(status, ToolFailure.badData)
        XCTAssertEqual(line, "error: [json.non_finite_number] JSON encoding error at checks[0].max_abs_z: non-finite number -inf cannot be written as JSON\n")
    }
}

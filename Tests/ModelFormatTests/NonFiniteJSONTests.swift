import Foundation
import XCTest
import ModelFormat

/// `JSONValue.replacingNonFiniteNumbers`: reports built in code never make the canonical writer
/// fail; every NaN or infinity becomes null and is listed with its path and text.
final class NonFiniteJSONTests: XCTestCase {
    func testNonFiniteNumbersBecomeNullAndAreListedByPath() throws {
        let value: JSONValue = .object([
            "max_dx": .double(.nan), "max_dv": .double(.infinity), "fine": .double(1.5), "n": .int(3),
            "summary": .object(["quantities": .array([.object(["z": .double(-.infinity), "name": .string("Q^2")])])]),
            "list": .array([.double(0), .double(.nan)]),
        ])
        XCTAssertThrowsError(try CanonicalJSONWriter.encode(value), "the writer itself still refuses them")
        let r = value.replacingNonFiniteNumbers()
        XCTAssertEqual(r.replaced, ["max_dx": "nan", "max_dv": "inf", "summary.quantities[0].z": "-inf", "list[1]": "nan"])
        XCTAssertEqual(r.value, .object([
            "max_dx": .null, "max_dv": .null, "fine": .double(1.5), "n": .int(3),
            "summary": .object(["quantities": .array([.object(["z": .null, "name": .string("Q^2")])])]),
            "list": .array([.double(0), .null]),
        ]))
        let bytes = try CanonicalJSONWriter.encode(r.value)
        XCTAssertEqual(try StrictJSONParser.parse(bytes), r.value)
    }

    func testFiniteValuesComeBackUnchanged() {
        let value: JSONValue = .object(["a": .array([.double(-0.0), .double(1e308), .int(1), .null, .bool(true), .string("nan")])])
        let r = value.replacingNonFiniteNumbers()
        XCTAssertEqual(r.value, value)
        XCTAssertTrue(r.replaced.isEmpty)
        XCTAssertEqual(JSONValue.double(.nan).replacingNonFiniteNumbers().replaced, ["": "nan"], "the root's path is empty")
    }

    /// The object form adds `non_finite` (path inside the object -> text) only when something
    /// was replaced.
    func testObjectFormAddsNonFiniteOnlyWhenNeeded() {
        XCTAssertEqual(JSONValue.objectReplacingNonFiniteNumbers(["max_dx": .double(2)]), .object(["max_dx": .double(2)]))
        XCTAssertEqual(JSONValue.objectReplacingNonFiniteNumbers(["max_dx": .double(-.infinity), "chains": .int(16)]),
                       .object(["max_dx": .null, "chains": .int(16), "non_finite": .object(["max_dx": .string("-inf")])]))
    }

    func testTheWritersErrorHasItsCode() {
        XCTAssertThrowsError(try CanonicalJSONWriter.encode(.array([.double(.nan)]))) { error in
            let e = error as? CanonicalJSONError
            XCTAssertEqual(e?.code, "json.non_finite_number")
            XCTAssertEqual(e?.path, "[0]")
        }
    }
}

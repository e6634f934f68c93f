import XCTest
@testable import Inference

/// The LAPACK failure message is one line with the info code. (It used to interpolate itself,
/// recursing without end on any LAPACK failure; this test would then crash, not fail.)
final class TruncatedSVDFailureTests: XCTestCase {
    func testFailureDescriptionNamesTheInfoCode() {
        for info: Int32 in [-4, 1, 17] {
            let text = TruncatedSVD.Failure.lapack(info: info).description
            XCTAssertEqual(text, "LAPACK dgesdd failed (info \(info))")
            XCTAssertFalse(text.contains("\n"))
        }
    }
}

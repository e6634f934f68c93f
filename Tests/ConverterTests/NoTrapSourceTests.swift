import Foundation
import XCTest

/// The converter, HDF5Kit and the l2hmc-convert tool never use `try!` (issue 9: a trap on bad
/// input is a dead tool, not an error). Grep-able, and this test keeps it so.
final class NoTrapSourceTests: XCTestCase {
    func testNoTryBangInConverterHDF5KitOrTheConvertTool() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var offenders: [String] = []
        var scanned = 0
        for folder in ["Sources/Converter", "Sources/HDF5Kit", "Sources/l2hmc-convert"] {
            let base = root.appendingPathComponent(folder)
            guard let files = FileManager.default.enumerator(atPath: base.path) else { return XCTFail("no \(folder)") }
            for case let file as String in files where file.hasSuffix(".swift") {
                let text = try String(contentsOf: base.appendingPathComponent(file), encoding: .utf8)
                scanned += 1
                for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
                    where line.contains("try!") && !line.trimmingCharacters(in: .whitespaces).hasPrefix("//") {
                    offenders.append("\(folder)/\(file):\(i + 1)")
                }
            }
        }
        XCTAssertGreaterThan(scanned, 20, "the scan found the sources")
        XCTAssertEqual(offenders, [], "try! found")
    }
}

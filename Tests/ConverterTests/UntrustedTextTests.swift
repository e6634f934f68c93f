import Converter
import HDF5Kit
import ModelFormat
import XCTest

/// Issue 9: messages that quote a file echoed its text raw, so a name with a newline and terminal
/// escapes printed a fake second line (`error: [ok] all good`) and erased the screen's lines.
final class UntrustedTextTests: XCTestCase {
    /// What an adversary writes in a dataset name or manifest string.
    static let hostile = "w\n\u{1b}[2K\u{1b}[1Aerror: [ok] all good\r\t\u{7f}\u{85}\u{202e}x\u{2028}"

    func testEveryControlAndFormatCharacterBecomesAVisibleEscape() {
        let shown = UntrustedText.escaped(Self.hostile)
        // Expected text written out by hand from the escape rules (not by the code under test).
        XCTAssertEqual(shown, #"w\n\u{1b}[2K\u{1b}[1Aerror: [ok] all good\r\t\u{7f}\u{85}\u{202e}x\u{2028}"#)
        XCTAssertEqual(UntrustedText.escaped(shown), shown, "escaping is idempotent")
        XCTAssertEqual(UntrustedText.escaped("vnet0_x_layer/kernel:0 (é, 中, 🙂)"), "vnet0_x_layer/kernel:0 (é, 中, 🙂)", "printable text is unchanged")
        XCTAssertEqual(UntrustedText.escaped(String(repeating: "a", count: 10), limit: 4), "aaaa... (6 more characters)")
    }

    func testErrorsOfEveryLayerPrintOneLine() {
        let errors: [CustomStringConvertible] = [
            L2ZError.manifestUnknownKey(path: "manifest.json: sampler.\(Self.hostile)"),
            L2ZError.manifestInvalidValue(path: "provenance.source", expected: "a string", actual: Self.hostile),
            ConvertError.unsupportedSource(path: "k.h5", reason: "layer \(Self.hostile) is listed in layer_names but has no group"),
            ConvertError.unmappedDatasets(names: ["/a/\(Self.hostile)"]),
            HDF5Error.notFound(path: "k.h5", object: "/\(Self.hostile)"),
        ]
        for e in errors {
            let line = e.description
            XCTAssertFalse(line.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F || $0 == "\u{202e}" || $0 == "\u{2028}" }, line)
            XCTAssertTrue(line.contains(#"\n\u{1b}[2K"#), line)
        }
    }
}

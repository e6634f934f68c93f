import Converter
import Foundation
import ModelFormat
import XCTest

/// Bytes of a safetensors file built by hand: `length` (default: the header's) as 8 little-endian
/// bytes, the header text, then `data`.
func safetensorsBytes(_ header: String, data: [UInt8] = [], length: UInt64? = nil) -> [UInt8] {
    let h = Array(header.utf8)
    let n = length ?? UInt64(h.count)
    return (0..<8).map { UInt8(truncatingIfNeeded: n >> (8 * UInt64($0))) } + h + data
}

/// The strict safetensors reader: values against files written by the real `safetensors` library
/// (fixtures/safetensors/make_safetensors_fixtures.py), half-precision decoding against exact
/// values, and one coded refusal per rule.
final class SafetensorsReaderTests: XCTestCase {
    static func fixture(_ name: String) -> String { Fixtures.root.appendingPathComponent("fixtures/safetensors/\(name)").path }

    /// Every tensor and the metadata as the real library wrote them (expected.json: the library's
    /// own read-back, float64 repr strings); compared bit for bit: every F64/F32/F16/BF16 value is
    /// exactly a Double, so no tolerance.
    func testValuesMatchTheRealLibrary() throws {
        let expectedData = try Data(contentsOf: URL(fileURLWithPath: Self.fixture("expected.json")))
        guard case let .object(files) = try StrictJSONParser.parse(Array(expectedData)) else { return XCTFail("expected.json") }
        XCTAssertEqual(Set(files.keys), ["small.safetensors", "bf16.safetensors"])
        var checked = 0
        for (fileName, entry) in files {
            guard case let .object(e) = entry, case let .object(meta)? = e["metadata"], case let .object(tensors)? = e["tensors"] else { return XCTFail(fileName) }
            let file = try SafetensorsFile(path: Self.fixture(fileName))
            XCTAssertEqual(file.metadata, meta.compactMapValues { if case let .string(s) = $0 { return s } else { return nil } }, fileName)
            XCTAssertEqual(Set(file.tensors.map(\.name)), Set(tensors.keys), fileName)
            for (name, t) in tensors {
                guard case let .object(o) = t, case let .string(dtype)? = o["dtype"], case let .array(shape)? = o["shape"],
                      case let .array(values)? = o["values"], let tensor = file.tensor(named: name) else { return XCTFail(name) }
                XCTAssertEqual(tensor.dtype.rawValue, dtype, name)
                let expectedShape = shape.compactMap { if case let .int(i) = $0 { return Int(i) } else { return nil } }
                let expectedValues = values.compactMap { if case let .string(s) = $0 { return Double(s) } else { return nil } }
                let (got, gotShape) = try file.values(tensor)
                XCTAssertEqual(gotShape, expectedShape, name)
                XCTAssertEqual(got.count, values.count, name)
                XCTAssertEqual(got.map(\.bitPattern), expectedValues.map(\.bitPattern), "\(fileName):\(name)")
                checked += got.count
            }
        }
        XCTAssertEqual(checked, 12 + 4 + 1 + 12 + 0 + 4 + 6 + 2, "every value of both fixtures compared")
        let small = try SafetensorsFile(path: Self.fixture("small.safetensors"))
        XCTAssertEqual(Set(small.tensors.map(\.dtype)), [.f64, .f32, .f16])
        XCTAssertEqual(small.tensor(named: "vnet.0.scale.coeff")?.shape, [], "a scalar has shape []")
    }

    /// binary16 bit patterns against their exact values (IEEE 754: 1, -2, the largest 65504, the
    /// smallest normal 2^-14, the smallest subnormal 2^-24, -0, 1/3 rounded to 0x3555 = 1365/4096).
    func testHalfPrecisionDecodesExactly() throws {
        let cases: [(UInt16, Double)] = [(0x3C00, 1), (0xC000, -2), (0x7BFF, 65504), (0x0400, 0x1p-14), (0x0001, 0x1p-24),
                                         (0x8000, -0.0), (0x3555, 1365.0 / 4096), (0x03FF, 1023 * 0x1p-24)]
        let data = cases.flatMap { [UInt8($0.0 & 0xFF), UInt8($0.0 >> 8)] }
        let file = try SafetensorsFile(bytes: safetensorsBytes(#"{"h":{"dtype":"F16","shape":[8],"data_offsets":[0,16]}}"#, data: data), path: "h")
        let (v, _) = try file.values(file.tensors[0])
        XCTAssertEqual(v.map(\.bitPattern), cases.map(\.1.bitPattern))
        // BF16 by hand: 0x3F80 = 1, 0xC020 = -2.5, 0x0001 = 2^-133.
        let bf = try SafetensorsFile(bytes: safetensorsBytes(#"{"b":{"dtype":"BF16","shape":[3],"data_offsets":[0,6]}}"#, data: [0x80, 0x3F, 0x20, 0xC0, 0x01, 0x00]), path: "b")
        XCTAssertEqual(try bf.values(bf.tensors[0]).values, [1, -2.5, 0x1p-133])
    }

    func testNonFiniteAndNonConvertibleValuesAreCoded() throws {
        let inf = try SafetensorsFile(bytes: safetensorsBytes(#"{"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}"#, data: [0, 0x3C, 0, 0x7C]), path: "h")
        assertConvertError("convert.non_finite") { _ = try inf.values(inf.tensors[0]) }
        let ints = try SafetensorsFile(bytes: safetensorsBytes(#"{"step":{"dtype":"I64","shape":[],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8)), path: "i")
        XCTAssertEqual(ints.tensors.map(\.dtype), [.i64], "listed")
        let e = assertConvertError("convert.wrong_dtype") { _ = try ints.values(ints.tensors[0]) }
        XCTAssertTrue("\(e.map { "\($0)" } ?? "")".contains("i:step"))
    }

    func testEmptyHeaderIsAValidEmptyFile() throws {
        let f = try SafetensorsFile(bytes: safetensorsBytes("{}"), path: "e")
        XCTAssertEqual(f.tensors, [])
        XCTAssertEqual(f.dataBytes, 0)
    }

    /// One malformed input per rule: each refused with its code and a message naming the culprit.
    func testMalformedInputTable() throws {
        let t = #""a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}"#
        let eight = [UInt8](repeating: 0, count: 8)
        let cases: [(String, [UInt8], String, String)] = [
            ("empty file", [], "truncated", "0 byte"),
            ("7 bytes", [2, 0, 0, 0, 0, 0, 0], "truncated", "7 byte"),
            ("header length past the file", safetensorsBytes("{}", length: 3), "truncated", "header length 3"),
            ("huge header length", safetensorsBytes("{}", length: UInt64.max), "header_too_large", "18446744073709551615"),
            ("header length just above 100 MB", safetensorsBytes("{}", length: 100_000_001), "header_too_large", "100000001"),
            ("non-object JSON", safetensorsBytes("[1,2]"), "header", "array"),
            ("not JSON", safetensorsBytes("{'a':1}"), "json", "syntax"),
            ("duplicate key", safetensorsBytes("{\(t),\(t)}", data: eight), "json", "duplicateKey"),
            ("trailing JSON content", safetensorsBytes("{\(t)}x", data: eight), "json", "trailingContent"),
            ("invalid UTF-8", safetensorsBytes("{\"\u{E9}\":1}").map { $0 == 0xC3 ? 0xFF : $0 }, "json", "notUTF8"),
            ("unknown dtype", safetensorsBytes(#"{"a":{"dtype":"F128","shape":[2],"data_offsets":[0,8]}}"#, data: eight), "dtype", "\"a\" has the unknown dtype \"F128\""),
            ("dtype not a string", safetensorsBytes(#"{"a":{"dtype":4,"shape":[2],"data_offsets":[0,8]}}"#, data: eight), "dtype", "\"a\""),
            ("missing key", safetensorsBytes(#"{"a":{"dtype":"F32","shape":[2]}}"#, data: eight), "header", "\"a\" lacks data_offsets"),
            ("extra key", safetensorsBytes(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"stride":[1]}}"#, data: eight), "header", "unknown key \"stride\""),
            ("entry not an object", safetensorsBytes(#"{"a":[1]}"#), "header", "\"a\" is a JSON array"),
            ("shape overflow", safetensorsBytes(#"{"a":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,8]}}"#, data: eight), "shape", "more bytes than Int"),
            ("byte size overflow", safetensorsBytes(#"{"a":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,8]}}"#, data: eight), "shape", "\"a\""),
            ("negative dimension", safetensorsBytes(#"{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, data: eight), "shape", "-2"),
            ("fractional dimension", safetensorsBytes(#"{"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}}"#, data: eight), "shape", "\"a\""),
            ("count mismatch", safetensorsBytes(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: eight), "size_mismatch", "12 bytes"),
            ("offsets past the end", safetensorsBytes(#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: eight), "offsets", "[0, 16]"),
            ("offsets reversed", safetensorsBytes(#"{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}"#, data: eight), "offsets", "\"a\""),
            ("offsets of three", safetensorsBytes(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4,8]}}"#, data: eight), "offsets", "\"a\""),
            ("offsets overlapping", safetensorsBytes(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: eight), "overlap", "\"b\" bytes [4, 8) overlap tensor \"a\""),
            ("a gap", safetensorsBytes(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#, data: eight + [0, 0, 0, 0]), "gap", "[4, 8) after tensor \"a\""),
            ("a gap at the start", safetensorsBytes(#"{"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: eight), "gap", "at the start"),
            ("trailing bytes after the last tensor", safetensorsBytes("{\(t)}", data: eight + [1]), "trailing_bytes", "1 byte(s)"),
            ("data but no tensors", safetensorsBytes("{}", data: [0]), "trailing_bytes", "1 byte(s)"),
            ("bad metadata type", safetensorsBytes(#"{"__metadata__":{"k":1}}"#), "metadata", "\"k\" is a JSON integer"),
            ("metadata not an object", safetensorsBytes(#"{"__metadata__":"x"}"#), "metadata", "string"),
            ("empty name", safetensorsBytes(#"{"":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}"#), "name", "0 UTF-8 bytes"),
            ("control character in a name", safetensorsBytes(#"{"a\nb":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}"#), "name", "U+000A"),
            ("overlong name", safetensorsBytes("{\"\(String(repeating: "n", count: 1025))\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}"), "name", "1025 UTF-8 bytes"),
            ("nesting beyond the layout", safetensorsBytes(#"{"__metadata__":{"k":[[1]]}}"#), "json", "tooDeep"),
        ]
        for (label, bytes, problem, fragment) in cases {
            let e = assertConvertError("convert.safetensors_\(problem)") { _ = try SafetensorsFile(bytes: bytes, path: "bad.safetensors") }
            let text = e.map { "\($0)" } ?? ""
            XCTAssertTrue(text.contains(fragment), "\(label): \(text)")
            XCTAssertTrue(text.contains("bad.safetensors"), "\(label) names the file: \(text)")
            XCTAssertFalse(text.contains("\n"), "\(label): one line")
        }
        XCTAssertEqual(Set(cases.map(\.2)), Set(SafetensorsProblem.allCases.map(\.rawValue)), "every rule has a case")
    }

    /// The reference library pads its header with spaces; a zero-size tensor sits on the tiling.
    func testPaddingAndZeroSizeTensorsAreAccepted() throws {
        let f = try SafetensorsFile(bytes: safetensorsBytes(#"{"z":{"dtype":"F64","shape":[0,5],"data_offsets":[4,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"I8","shape":[2],"data_offsets":[4,6]}}   "#, data: [0, 0, 0x80, 0x3F, 1, 2]), path: "p")
        XCTAssertEqual(f.tensors.map(\.name), ["a", "b", "z"])
        XCTAssertEqual(try f.values(f.tensors[0]).values, [1])
        XCTAssertEqual(try f.values(f.tensors[2]).values, [])
    }

    func testFilesAreReadOnlyWhenRegularAndWithinTheLimit() throws {
        assertConvertError("convert.not_regular_file") { _ = try SafetensorsFile(path: NSTemporaryDirectory()) }
        assertConvertError("container.file_too_large") { _ = try SafetensorsFile(path: Self.fixture("small.safetensors"), maxFileBytes: 100) }
    }
}

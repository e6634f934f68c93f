import XCTest
@testable import ModelFormat

final class StrictJSONTests: XCTestCase {

    // MARK: Helpers

    private func parse(_ text: String, limits: StrictJSONParser.Limits = .init()) throws -> JSONValue {
        try StrictJSONParser.parse(Array(text.utf8), limits: limits)
    }

    private func encodeString(_ value: JSONValue) throws -> String {
        String(decoding: try CanonicalJSONWriter.encode(value), as: UTF8.self)
    }

    /// Asserts that parsing fails with `kind` (and `path`/`offset` when given); returns the error.
    @discardableResult
    private func assertError(_ bytes: [UInt8], _ kind: StrictJSONError.Kind, path: String? = nil, offset: Int? = nil,
                             limits: StrictJSONParser.Limits = .init(),
                             file: StaticString = #filePath, line: UInt = #line) -> StrictJSONError? {
        do {
            let value = try StrictJSONParser.parse(bytes, limits: limits)
            XCTFail("expected \(kind) but parsed \(value)", file: file, line: line)
            return nil
        } catch {
            XCTAssertEqual(error.kind, kind, "\(error)", file: file, line: line)
            if let path { XCTAssertEqual(error.path, path, "\(error)", file: file, line: line) }
            if let offset { XCTAssertEqual(error.offset, offset, "\(error)", file: file, line: line) }
            XCTAssertFalse(error.detail.isEmpty, file: file, line: line)
            return error
        }
    }

    @discardableResult
    private func assertError(_ text: String, _ kind: StrictJSONError.Kind, path: String? = nil, offset: Int? = nil,
                             limits: StrictJSONParser.Limits = .init(),
                             file: StaticString = #filePath, line: UInt = #line) -> StrictJSONError? {
        assertError(Array(text.utf8), kind, path: path, offset: offset, limits: limits, file: file, line: line)
    }

    private func nested(_ depth: Int) -> String {
        String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
    }

    // MARK: Round trips

    func testRoundTripOfValueWithEveryCase() throws {
        let value: JSONValue = .object([
            "null": .null,
            "flags": .array([.bool(true), .bool(false)]),
            "ints": .array([.int(0), .int(-1), .int(Int64.max), .int(Int64.min)]),
            "doubles": .array([.double(-0.0), .double(0.1), .double(1.0), .double(1e-05), .double(1e+20),
                               .double(.leastNonzeroMagnitude), .double(1.7976931348623157e308), .double(-2.5e-300)]),
            "text": .string("quote \" backslash \\ slash / nl \n tab \t cr \r bs \u{8} ff \u{c} nul \u{0} us \u{1f} del \u{7f}"),
            "unicode": .string("café Ω 漢字 😀 \u{2028}"),
            "keys with \"quotes\" and é": .object([:]),
            "nested": .array([.array([]), .object(["k": .array([.object(["deep": .string("")])])]), .int(3)]),
        ])
        let encoded = try CanonicalJSONWriter.encode(value)
        let reparsed = try StrictJSONParser.parse(encoded)
        XCTAssertEqual(reparsed, value)
        XCTAssertEqual(try CanonicalJSONWriter.encode(reparsed), encoded, "encoding must be byte-stable")

        // -0.0 == 0.0 under Double's ==, so check the sign and the case explicitly.
        guard case .object(let members) = reparsed, case .array(let doubles) = members["doubles"],
              case .double(let negativeZero) = doubles[0] else { return XCTFail("unexpected shape \(reparsed)") }
        XCTAssertEqual(negativeZero.sign, .minus)
        XCTAssertEqual(negativeZero, 0)
        guard case .array(let ints) = members["ints"] else { return XCTFail("ints missing") }
        XCTAssertEqual(ints, [.int(0), .int(-1), .int(Int64.max), .int(Int64.min)])
    }

    func testEncodeOfParseIsStable() throws {
        let inputs = [
            #"{"b" : [ 1,2 ,3 ], "a":{"y":null,"x":[{"q":1.50}]} }"#,
            " \t\r\n[1e2, 1E-2, -0.0, 0.000001, 123456789012345678, 1.5e300]\n",
            #"["\u00e9\ud83d\ude00\/\b\f\n\r\t\"\\", "é😀"]"#,
            "\"just a string\"",
            "-0",
        ]
        for input in inputs {
            let first = try CanonicalJSONWriter.encode(try parse(input))
            let again = try CanonicalJSONWriter.encode(try StrictJSONParser.parse(first))
            XCTAssertEqual(String(decoding: again, as: UTF8.self), String(decoding: first, as: UTF8.self), input)
        }
    }

    // MARK: Accepted input

    func testParsesScalarsAndStructures() throws {
        XCTAssertEqual(try parse("true"), .bool(true))
        XCTAssertEqual(try parse(" false "), .bool(false))
        XCTAssertEqual(try parse("null"), .null)
        XCTAssertEqual(try parse("0"), .int(0))
        XCTAssertEqual(try parse("-0"), .int(0))
        XCTAssertEqual(try parse("9223372036854775807"), .int(Int64.max))
        XCTAssertEqual(try parse("-9223372036854775808"), .int(Int64.min))
        XCTAssertEqual(try parse("1.0"), .double(1.0))
        XCTAssertEqual(try parse("1e2"), .double(100))
        XCTAssertEqual(try parse("1E+2"), .double(100))
        XCTAssertEqual(try parse("-2.5e-3"), .double(-0.0025))
        XCTAssertEqual(try parse("0.1"), .double(0.1))
        XCTAssertEqual(try parse("1e-400"), .double(0), "underflow to zero is allowed")
        guard case .double(let nz) = try parse("-0.0") else { return XCTFail("-0.0 must be a double") }
        XCTAssertEqual(nz.sign, .minus)
        XCTAssertEqual(try parse(#""a\"b\\c\/d\be\ff\ng\rh\ti""#), .string("a\"b\\c/d\u{8}e\u{c}f\ng\rh\ti"))
        XCTAssertEqual(try parse(#""\u0041\u00e9\u4E2D\ud83d\ude00\u0000""#), .string("Aé中😀\u{0}"))
        XCTAssertEqual(try parse("\"é😀\""), .string("é😀"))
        XCTAssertEqual(try parse("[]"), .array([]))
        XCTAssertEqual(try parse("{}"), .object([:]))
        XCTAssertEqual(try parse(" {\n\"a\" :\t[1, {\"b\": null}],\r\n\"c\":\"d\"} "),
                       .object(["a": .array([.int(1), .object(["b": .null])]), "c": .string("d")]))
    }

    func testTypeNames() {
        let values: [JSONValue] = [.null, .bool(true), .int(1), .double(1), .string(""), .array([]), .object([:])]
        XCTAssertEqual(values.map(\.typeName), ["null", "bool", "integer", "number", "string", "array", "object"])
    }

    // MARK: Errors, one test per kind

    func testNotUTF8() {
        assertError([0xC3, 0x28], .notUTF8, path: "", offset: 0)
        assertError([0x22, 0x61, 0xC0, 0xAF, 0x22], .notUTF8, offset: 2)          // overlong "/"
        assertError([0x22, 0xED, 0xA0, 0x80, 0x22], .notUTF8, offset: 1)          // encoded surrogate U+D800
        assertError([0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], .notUTF8, offset: 1)    // above U+10FFFF
        assertError([0x5B, 0x22, 0xE2, 0x82], .notUTF8, offset: 2)                // truncated at end
        assertError([0xFF], .notUTF8, offset: 0)
    }

    func testSyntax() {
        assertError("", .syntax, path: "", offset: 0)
        assertError(" \n\t", .syntax, path: "")
        assertError([0xEF, 0xBB, 0xBF, 0x31], .syntax, offset: 0)                 // byte order mark
        assertError("01", .syntax, offset: 1)
        assertError("-01", .syntax)
        assertError("1.", .syntax)
        assertError("1.e5", .syntax)
        assertError("1e", .syntax)
        assertError("1e+", .syntax)
        assertError("-", .syntax)
        assertError("+1", .syntax)
        assertError(".5", .syntax)
        assertError("0x1F", .syntax)
        assertError("1.5.3", .syntax)
        assertError("[1,]", .syntax, path: "[1]", offset: 3)
        assertError("{\"a\":1,}", .syntax, path: "", offset: 7)
        assertError("{\"a\":[1,01]}", .syntax, path: "a[1]")
        assertError("[1 2]", .syntax)
        assertError("{\"a\" 1}", .syntax, path: "")
        assertError("{a:1}", .syntax)
        assertError("['a']", .syntax, path: "[0]")
        assertError("[1", .syntax)
        assertError("{\"a\":", .syntax, path: "a")
        assertError("tru", .syntax)
        assertError("True", .syntax)
        assertError("nulls", .syntax)
        assertError("undefined", .syntax)
        assertError("\"abc", .syntax, offset: 0)
        assertError(#""\x""#, .syntax)
        assertError(#""\u12G4""#, .syntax)
        assertError(#""\u12""#, .syntax)
        assertError(#"{"s":"\ud800"}"#, .syntax, path: "s")                       // lone high surrogate
        assertError(#""\udc00""#, .syntax)                                        // lone low surrogate
        assertError(#""\ud800\u0041""#, .syntax)                                  // high followed by non-low
        assertError(#""\ud800\ud800""#, .syntax)
        assertError("[\"a\tb\"]", .syntax, path: "[0]", offset: 3)                // raw tab
        assertError("\"a\u{0}\"", .syntax, offset: 2)                             // raw NUL
        assertError("\u{c}1", .syntax)                                            // form feed is not whitespace
        assertError("\u{a0}1", .syntax)                                           // neither is NBSP
    }

    func testDuplicateKey() {
        let nestedDup = assertError(#"{"a":{"b":1,"b":2}}"#, .duplicateKey, path: "a", offset: 12)
        XCTAssertTrue(nestedDup?.detail.contains("\"b\"") ?? false)
        let rootDup = assertError(#"{"x":1, "y":2, "x":1}"#, .duplicateKey, path: "", offset: 15)
        XCTAssertTrue(rootDup?.detail.contains("\"x\"") ?? false)
        let targetDup = assertError(#"{"target":{"lt":1,"lt":2}}"#, .duplicateKey, path: "target")
        XCTAssertEqual(targetDup?.detail, "key \"lt\" appears twice in object at target")
        assertError(#"[{"k":1},{"k":1,"k":1}]"#, .duplicateKey, path: "[1]")
        assertError(#"{"k":{},"k":[]}"#, .duplicateKey, path: "")
        assertError(#"{"\u0041":1,"A":2}"#, .duplicateKey, path: "")                  // equal after unescaping
        assertError(#"{"\u00e9":1,"e\u0301":2}"#, .duplicateKey, path: "")           // canonically equivalent
    }

    func testNonFiniteLiteral() {
        assertError("[1,NaN]", .nonFiniteLiteral, path: "[1]", offset: 3)
        assertError("Infinity", .nonFiniteLiteral, path: "")
        assertError("-Infinity", .nonFiniteLiteral, offset: 0)
        assertError("nan", .nonFiniteLiteral)
        assertError("inf", .nonFiniteLiteral)
        assertError("+inf", .nonFiniteLiteral)
        assertError(#"{"a":{"b":-inf}}"#, .nonFiniteLiteral, path: "a.b", offset: 10)
    }

    func testNumberOutOfRange() {
        assertError("1e400", .numberOutOfRange, path: "", offset: 0)
        assertError("[-1.5e400]", .numberOutOfRange, path: "[0]", offset: 1)
        assertError("99999999999999999999", .numberOutOfRange)
        assertError("9223372036854775808", .numberOutOfRange)
        assertError("-9223372036854775809", .numberOutOfRange)
        assertError(#"{"arrays":{"masks":{"shape":[2, 1e999]}}}"#, .numberOutOfRange, path: "arrays.masks.shape[1]")
        assertError("0." + String(repeating: "1", count: 63), .numberOutOfRange)   // 65 characters
        XCTAssertNoThrow(try parse("0." + String(repeating: "1", count: 62)))    // 64 characters
        var limits = StrictJSONParser.Limits()
        limits.maxNumberLength = 3
        assertError("[1234]", .numberOutOfRange, path: "[0]", limits: limits)
        XCTAssertEqual(try parse("[123]", limits: limits), .array([.int(123)]))
    }

    func testTooDeep() throws {
        XCTAssertNoThrow(try parse(nested(32)))
        assertError(nested(33), .tooDeep, offset: 32)
        let objects = String(repeating: #"{"a":"#, count: 33) + "1" + String(repeating: "}", count: 33)
        let error = assertError(objects, .tooDeep, offset: 32 * 5)
        XCTAssertEqual(error?.path, Array(repeating: "a", count: 32).joined(separator: "."))
        var limits = StrictJSONParser.Limits()
        limits.maxDepth = 0
        XCTAssertEqual(try parse("1", limits: limits), .int(1))
        assertError("[]", .tooDeep, limits: limits)
        limits.maxDepth = 2_000
        XCTAssertNoThrow(try parse(nested(2_000), limits: limits))
        assertError(nested(2_001), .tooDeep, offset: 2_000, limits: limits)
    }

    func testMegabyteOfOpenBracketsFailsFast() {
        let start = Date()
        let bytes = [UInt8](repeating: UInt8(ascii: "["), count: 1 << 20)
        assertError(bytes, .tooDeep, path: String(repeating: "[0]", count: 32), offset: 32)
        XCTAssertLessThan(Date().timeIntervalSince(start), 1.0)
    }

    func testHostileMegabyteInputsFailFast() {
        let start = Date()
        let megabyte = 1 << 20
        assertError([UInt8](repeating: UInt8(ascii: "7"), count: megabyte), .numberOutOfRange, offset: 0)
        assertError([UInt8](repeating: UInt8(ascii: " "), count: megabyte), .syntax)
        assertError([0x22] + [UInt8](repeating: UInt8(ascii: "a"), count: megabyte - 1), .tooLarge, offset: 0)
        assertError([UInt8](repeating: UInt8(ascii: "a"), count: megabyte), .syntax, offset: 0)
        let manyElements = "[" + String(repeating: "1,", count: megabyte / 2 - 1)
        assertError(manyElements, .syntax, path: "[\(megabyte / 2 - 1)]", offset: megabyte - 1)
        XCTAssertLessThan(Date().timeIntervalSince(start), 2.0)
    }

    func testTooLarge() {
        var limits = StrictJSONParser.Limits()
        limits.maxBytes = 10
        XCTAssertNoThrow(try parse("[1,2,3,45]", limits: limits))
        assertError("[1,2,3,456]", .tooLarge, offset: 10, limits: limits)
        assertError([UInt8](repeating: 0xFF, count: 11), .tooLarge, limits: limits)   // size is checked first
        assertError([UInt8](repeating: UInt8(ascii: "["), count: (1 << 20) + 1), .tooLarge)

        limits = StrictJSONParser.Limits()
        limits.maxStringBytes = 4
        XCTAssertEqual(try parse(#"["abcd", "éé"]"#, limits: limits), .array([.string("abcd"), .string("éé")]))
        assertError(#"["abcd", "abcde"]"#, .tooLarge, path: "[1]", offset: 9, limits: limits)
        assertError(#"["ééa"]"#, .tooLarge, limits: limits)                         // counted in UTF-8 bytes
        assertError(#"{"ok":{"long key":1}}"#, .tooLarge, path: "ok", limits: limits)
    }

    func testTrailingContent() {
        assertError("{} x", .trailingContent, path: "", offset: 3)
        assertError("1 2", .trailingContent, offset: 2)
        assertError("[] []", .trailingContent)
        assertError(#""a""b""#, .trailingContent)
        assertError("null,", .trailingContent)
        XCTAssertEqual(try parse("{} \n\t\r"), .object([:]))
    }

    func testErrorDescriptionMentionsKindPathAndOffset() {
        let error = assertError(#"{"target":{"lt":1,"lt":2}}"#, .duplicateKey)
        let text = error.map(String.init(describing:)) ?? ""
        XCTAssertTrue(text.contains("duplicateKey") && text.contains("target") && text.contains("18"), text)
    }

    // MARK: Canonical writer

    func testCanonicalEncodingIsExact() throws {
        let value: JSONValue = .object([
            "zeta": .int(-3),
            "alpha": .array([.int(1), .double(2.5), .null, .bool(true), .string("x")]),
            "Beta": .object([:]),
            "empty": .array([]),
            "nested": .array([
                .object(["b": .double(1.0), "a": .double(1e-05)]),
                .array([.double(1e+20), .double(-0.0)]),
                .int(7),
            ]),
            "é": .string("café \"q\" \\ \n\t\r\u{8}\u{c}\u{1}\u{1f}/"),
            "a b": .double(0.1),
        ])
        let expected = #"""
        {
          "Beta": {},
          "a b": 0.1,
          "alpha": [1, 2.5, null, true, "x"],
          "empty": [],
          "nested": [
            {
              "a": 1e-05,
              "b": 1.0
            },
            [1e+20, -0.0],
            7
          ],
          "zeta": -3,
          "é": "café \"q\" \\ \n\t\r\b\f\u0001\u001f/"
        }
        """# + "\n"
        XCTAssertEqual(try encodeString(value), expected)
        XCTAssertEqual(try parse(expected), value)
    }

    func testCanonicalScalarsAndNumberForms() throws {
        XCTAssertEqual(try encodeString(.int(5)), "5\n")
        XCTAssertEqual(try encodeString(.null), "null\n")
        XCTAssertEqual(try encodeString(.array([])), "[]\n")
        XCTAssertEqual(try encodeString(.object([:])), "{}\n")
        XCTAssertEqual(try encodeString(.array([.array([])])), "[\n  []\n]\n")
        let forms: [(Double, String)] = [
            (1.0, "1.0"), (-0.0, "-0.0"), (0.0, "0.0"), (1e-05, "1e-05"), (1e+20, "1e+20"), (100.0, "100.0"),
            (0.1, "0.1"), (.leastNonzeroMagnitude, "5e-324"), (1e16, "1e+16"), (-1.5, "-1.5"),
        ]
        for (d, text) in forms {
            XCTAssertEqual(try encodeString(.double(d)), text + "\n")
            guard case .double(let back) = try parse(text) else { XCTFail("\(text) must re-parse as a double"); continue }
            XCTAssertEqual(back.bitPattern, d.bitPattern, text)
        }
        XCTAssertEqual(try encodeString(.int(Int64.min)), "-9223372036854775808\n")
    }

    func testKeysSortByUTF8Bytes() throws {
        let value: JSONValue = .object(["b": .int(2), "B": .int(1), "é": .int(4), "z": .int(3), "": .int(0)])
        XCTAssertEqual(try encodeString(value), "{\n  \"\": 0,\n  \"B\": 1,\n  \"b\": 2,\n  \"z\": 3,\n  \"é\": 4\n}\n")
    }

    func testEncodingNonFiniteThrowsWithPath() {
        XCTAssertThrowsError(try CanonicalJSONWriter.encode(.object(["a": .array([.int(1), .double(.nan)])]))) { error in
            XCTAssertEqual((error as? CanonicalJSONError)?.path, "a[1]")
        }
        XCTAssertThrowsError(try CanonicalJSONWriter.encode(.double(-.infinity))) { error in
            XCTAssertEqual((error as? CanonicalJSONError)?.path, "")
        }
    }

    // MARK: Fuzz

    /// SplitMix64: small, deterministic, good enough for fuzzing.
    private struct SeededRandom: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    private func randomValue(_ rng: inout SeededRandom, depth: Int) -> JSONValue {
        let strings = ["", "a", "é", "😀", "\"\\", "\n\u{1}", "key", "b"]
        switch Int.random(in: 0..<(depth > 3 ? 6 : 8), using: &rng) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &rng))
        case 2: return .int(Int64.random(in: Int64.min...Int64.max, using: &rng) >> Int64.random(in: 0..<64, using: &rng))
        case 3:
            let d = Double(bitPattern: UInt64.random(in: 0...UInt64.max, using: &rng))
            return .double(d.isFinite ? d : 0.5)
        case 4, 5: return .string(strings.randomElement(using: &rng)!)
        case 6: return .array((0..<Int.random(in: 0..<4, using: &rng)).map { _ in randomValue(&rng, depth: depth + 1) })
        default:
            var members: [String: JSONValue] = [:]
            for _ in 0..<Int.random(in: 0..<4, using: &rng) {
                members[strings.randomElement(using: &rng)!] = randomValue(&rng, depth: depth + 1)
            }
            return .object(members)
        }
    }

    func testFuzzNeverCrashesAndRoundTrips() throws {
        var rng = SeededRandom(state: 0x5EED_1234)
        let tokens = ["{", "}", "[", "]", ",", ":", "\"", "\\", "\\u", "\\ud800", "\\udc00", "0", "-", "1", ".", "e",
                      "E+", "01", "1e400", "NaN", "-Infinity", "true", "null", " ", "\t", "\n", "\u{0}", "é", "😀",
                      "\"a\"", "\"a\":1,", "99999999999999999999"]
        let seeds = [#"{"a":{"b":[1,2.5,-0.0,"x\n\u00e9"]},"c":null,"d":true}"#, "[[[[1]]],{},[]]",
                     #"{"arrays":{"masks":{"shape":[4, 8]}}}"#, #"{"a":1,"b":[2]}"#, "-12.5e-3", #""\ud83d\ude00""#]
        var parsed = 0, rejected = 0
        for iteration in 0..<6_000 {
            var input: [UInt8]
            switch iteration % 3 {
            case 0:   // random bytes, biased towards JSON punctuation
                let alphabet = Array("{}[],:\"\\0123456789-+.eEtrufalsn \n".utf8) + [0x00, 0xC3]
                input = (0..<Int.random(in: 0..<24, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            case 1:   // canonical encoding of a random value, maybe mutated
                input = try CanonicalJSONWriter.encode(randomValue(&rng, depth: 0))
            default:  // a seed document
                input = Array(seeds.randomElement(using: &rng)!.utf8)
            }
            for _ in 0..<Int.random(in: (iteration % 3 == 1 ? 0 : 1)..<4, using: &rng) where !input.isEmpty {
                let at = Int.random(in: 0..<input.count, using: &rng)
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: input[at] = UInt8.random(in: Int.random(in: 0..<8, using: &rng) == 0 ? 0...255 : 32...126, using: &rng)
                case 1: input.remove(at: at)
                case 2: input.insert(contentsOf: tokens.randomElement(using: &rng)!.utf8, at: at)
                default: input.insert(contentsOf: input[at..<min(input.count, at + 8)], at: at)
                }
            }
            do {
                let value = try StrictJSONParser.parse(input)
                parsed += 1
                let encoded = try CanonicalJSONWriter.encode(value)
                let again = try StrictJSONParser.parse(encoded)
                XCTAssertEqual(again, value, String(decoding: input, as: UTF8.self))
                XCTAssertEqual(try CanonicalJSONWriter.encode(again), encoded)
            } catch let error as StrictJSONError {
                rejected += 1
                XCTAssertTrue((0...input.count).contains(error.offset), "\(error) for \(input)")
            }
        }
        // Both outcomes must be exercised, or the fuzzer is not testing anything.
        XCTAssertGreaterThan(parsed, 500)
        XCTAssertGreaterThan(rejected, 500)
    }
}

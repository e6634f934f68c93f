import Foundation
import XCTest

/// Keeps the rule of issue 9 grep-able: no `try!`, no `as!` and no force unwrap (`x!`) anywhere in
/// Sources/, so that no input can reach a trap through them. Comments and string literals are
/// ignored (interpolations are code); `!=` and prefix `!` are not force unwraps. A real invariant
/// is written as a `guard` with a coded error, or a `precondition` whose message states it.
/// One exception: `baseAddress!` of an array's buffer in the numeric kernels (nil only for an
/// empty buffer, and those buffers hold the validated, non-empty arrays of a model or run).
final class SourceHygieneTests: XCTestCase {
    func testNoTryBangAsBangOrForceUnwrapInSources() throws {
        let root = CLI.repositoryRoot.appendingPathComponent("Sources")
        guard let walker = FileManager.default.enumerator(atPath: root.path) else { return XCTFail("no Sources") }
        var findings: [String] = []
        var files = 0
        for case let relative as String in walker where relative.hasSuffix(".swift") {
            files += 1
            let text = try String(contentsOf: root.appendingPathComponent(relative), encoding: .utf8)
            for (number, line) in SourceScanner.codeLines(text) {
                for hit in SourceScanner.violations(in: line) { findings.append("Sources/\(relative):\(number): \(hit): \(line.trimmingCharacters(in: .whitespaces))") }
            }
        }
        XCTAssertGreaterThan(files, 50)
        XCTAssertTrue(findings.isEmpty, "\(findings.count) forbidden construct(s):\n" + findings.joined(separator: "\n"))
    }

    /// The scanner itself finds what it must and nothing else.
    func testTheScannerSeesForceUnwrapsAndIgnoresStringsCommentsAndNotEquals() {
        XCTAssertEqual(SourceScanner.violations(in: "let a = b!.c"), ["force unwrap"])
        XCTAssertEqual(SourceScanner.violations(in: "let a = try! f()"), ["try!"])
        XCTAssertEqual(SourceScanner.violations(in: "let a = x as! Int"), ["as!"])
        XCTAssertEqual(SourceScanner.violations(in: "f(d[k]!)"), ["force unwrap"])
        XCTAssertEqual(SourceScanner.violations(in: "g($0.baseAddress!, n)"), [])
        XCTAssertEqual(SourceScanner.violations(in: "if a != b && !c { }"), [])
        XCTAssertEqual(SourceScanner.codeLines("let s = \"v \\(x!.count) w\"").map(\.1).flatMap(SourceScanner.violations(in:)), ["force unwrap"])
        let code = SourceScanner.codeLines("let s = \"wow! x!.y\" // a!.b\nlet t = u!\n\"\"\"\nq!.r\n\"\"\"\n")
        XCTAssertEqual(code.map(\.1).flatMap(SourceScanner.violations(in:)), ["force unwrap"])
    }
}

/// A deliberately small Swift lexer: enough to drop comments and string literals.
enum SourceScanner {
    /// Lines with comments and string literals blanked, numbered from 1; lines inside multi-line
    /// string literals and block comments are dropped.
    static func codeLines(_ text: String) -> [(Int, String)] {
        var out: [(Int, String)] = []
        var inMultiline = false, inBlock = false
        for (index, raw) in text.components(separatedBy: "\n").enumerated() {
            var line = ""
            var chars = Array(raw)[...]
            if inMultiline {
                guard let r = raw.range(of: "\"\"\"") else { continue }
                inMultiline = false
                chars = Array(raw[r.upperBound...])[...]
            }
            var inString = false
            while let c = chars.first {
                if inBlock {
                    if chars.starts(with: "*/") { inBlock = false; chars = chars.dropFirst(2) } else { chars = chars.dropFirst() }
                    continue
                }
                if inString {
                    if chars.starts(with: "\\(") {
                        // An interpolation is code: keep it (up to the matching parenthesis).
                        chars = chars.dropFirst(2)
                        var depth = 1
                        while let d = chars.first, depth > 0 {
                            if d == "(" { depth += 1 } else if d == ")" { depth -= 1 }
                            if depth > 0 { line.append(d) }
                            chars = chars.dropFirst()
                        }
                        line.append(" ")
                        continue
                    }
                    if c == "\\" { chars = chars.dropFirst(2); continue }
                    if c == "\"" { inString = false; line.append("\"") }
                    chars = chars.dropFirst()
                    continue
                }
                if chars.starts(with: "\"\"\"") { inMultiline = true; break }
                if chars.starts(with: "//") { break }
                if chars.starts(with: "/*") { inBlock = true; chars = chars.dropFirst(2); continue }
                if c == "\"" { inString = true; line.append("\"") }
                else { line.append(c) }
                chars = chars.dropFirst()
            }
            out.append((index + 1, line))
        }
        return out
    }

    /// `try!`, `as!`, and `!` directly after an identifier, `)` or `]` and not followed by `=`
    /// (except after `baseAddress`).
    static func violations(in line: String) -> [String] {
        var found: [String] = []
        let chars = Array(line)
        for i in chars.indices where chars[i] == "!" {
            let next: Character? = i + 1 < chars.count ? chars[i + 1] : nil
            guard next != "=", i > 0 else { continue }
            let before = String(chars[..<i])
            if before.hasSuffix("try") { found.append("try!"); continue }
            if before.hasSuffix(" as") { found.append("as!"); continue }
            let p = chars[i - 1]
            if before.hasSuffix("baseAddress") { continue }
            if p.isLetter || p.isNumber || p == "_" || p == ")" || p == "]" { found.append("force unwrap") }
        }
        return found
    }
}

import Foundation
import XCTest

/// Docs that run: every shell example of README.md and docs/*.md runs on the fresh debug build.
///
/// - Examples: every command line of a ```` ```sh ````, ```` ```bash ```` or ```` ```console ````
///   block (console: the `$ ` lines), continuations joined, comments not commands
///   (`DocsExampleExtractor`).
/// - Not run, and only these: blocks marked, on the line right before their fence, with
///   `<!-- docs-test: skip REASON -->` (placeholder file names, system setup, the whole test
///   suite, timing runs); the reason is printed. A block expected to fail says so with
///   `<!-- docs-test: exit N REASON -->` (an `error: [code]` quoted in its trailing comment must be
///   the one printed). `mpirun` examples are reported skipped when Open MPI is
///   not installed (CI installs it, so there they run). A stray or malformed marker fails the test.
/// - How: each file in its own scratch directory holding a copy of `fixtures/` (nothing is written
///   into the checkout), examples in document order (later ones use earlier outputs: `--resume
///   run1` after `--out run1`), `.build/release` mapped to the debug products, lengths shortened
///   by the table in `DocsShortening` (the docs keep their lengths), each example's exit status
///   compared with the expected one (0 unless marked).
/// The convention is also described in docs/ARCHITECTURE.md ("Docs that run").
final class DocsExamplesTests: XCTestCase {
    /// README.md, then docs/*.md in name order.
    static func documents() throws -> [String] {
        let docs = try FileManager.default.contentsOfDirectory(atPath: CLI.repositoryRoot.appendingPathComponent("docs").path)
            .filter { $0.hasSuffix(".md") }.sorted().map { "docs/" + $0 }
        return ["README.md"] + docs
    }

    func testEveryShellExampleInTheDocsRuns() throws {
        let products = CLI.productsDirectory
        for tool in ["l2hmc-run", "l2hmc-train", "l2hmc-convert"] {
            XCTAssertTrue(FileManager.default.isExecutableFile(atPath: products.appendingPathComponent(tool).path),
                          "\(tool) is not built in \(products.path): swift build --build-tests first")
        }
        let scratch = try CLI.temporaryDirectory()
        let runner = DocsExampleRunner(products: products, fixtures: CLI.repositoryRoot.appendingPathComponent("fixtures"))
        let started = Date()
        var outcomes: [DocsExampleRunner.Outcome] = []
        for file in try Self.documents() {
            let markdown = try String(contentsOf: CLI.repositoryRoot.appendingPathComponent(file), encoding: .utf8)
            do {
                outcomes += try runner.run(markdown: markdown, file: file, scratchRoot: scratch)
            } catch let error as DocsExampleError {
                XCTFail("\(file): \(error)")
            }
        }
        let total = Date().timeIntervalSince(started)

        var lines: [String] = []
        for o in outcomes {
            let place = "\(o.file):\(o.example.line)"
            if let reason = o.skipReason {
                lines.append("skip      \(place): \(reason)")
            } else if let status = o.status {
                lines.append(String(format: "run %5.1fs ", o.seconds) + "\(place): exit \(status): \(o.example.command)")
            }
            if o.failed, let status = o.status {
                XCTFail("""
                    \(place): exit \(status), expected \(o.example.expectedStatus)\(o.missingErrorCode.map { "; stderr lacks the documented '\($0)'" } ?? "")
                      as written: \(o.example.text)
                      as run:     \(o.asRun ?? "")
                      stderr:
                    \(o.stderrTail)
                    """)
            }
        }
        let ran = outcomes.filter { $0.status != nil }
        let skipped = outcomes.filter { $0.skipReason != nil }
        print(lines.joined(separator: "\n"))
        print(String(format: "docs examples: %d run, %d skipped, %d assignments; %.1f s (scratch %@)",
                     ran.count, skipped.count, outcomes.count - ran.count - skipped.count, total, scratch.path))
        // A floor, so an extractor that silently finds nothing cannot pass (README alone has 35).
        XCTAssertGreaterThanOrEqual(ran.count, 30, "too few examples found in the docs")
        if !outcomes.contains(where: \.failed) { try? FileManager.default.removeItem(at: scratch) }
    }

    // MARK: - The extractor, the table and the runner on known inputs

    func testExtractorJoinsContinuationsAndSkipsCommentsAndOtherLanguages() throws {
        let markdown = """
            Text with `l2hmc-run --inline` is not an example.
            ```sh
            # a comment line
            R=.build/release
            $R/l2hmc-run --nlf 6 \\
                --trajectories 2000 --out run1   # trailing comment
              
            $R/l2hmc-run --resume run1
            ```
            ```python
            print("not shell")
            ```
            ```console
            $ l2hmc-convert inspect m.l2z
            file m.l2z
            ```
            ```
            l2hmc-run --unmarked-fence
            ```
            """
        let examples = try DocsExampleExtractor.examples(in: markdown)
        XCTAssertEqual(examples, [
            DocsExample(line: 4, text: "R=.build/release", kind: .setup, expectedStatus: 0),
            DocsExample(line: 5, text: "$R/l2hmc-run --nlf 6 --trajectories 2000 --out run1   # trailing comment", kind: .run, expectedStatus: 0),
            DocsExample(line: 8, text: "$R/l2hmc-run --resume run1", kind: .run, expectedStatus: 0),
            DocsExample(line: 14, text: "l2hmc-convert inspect m.l2z", kind: .run, expectedStatus: 0),
        ])
        XCTAssertEqual(examples[1].command, "$R/l2hmc-run --nlf 6 --trajectories 2000 --out run1")
    }

    func testMarkersApplyToTheNextShellBlockOnly() throws {
        let markdown = """
            <!-- docs-test: skip placeholder names: run7.* are your files -->
            ```sh
            l2hmc-convert run7.weights.h5 run7.l2z
            ```
            <!-- docs-test: exit 64 shows a usage error -->
            ```bash
            l2hmc-run --chains 0
            ```
            ```sh
            l2hmc-run
            ```
            """
        let examples = try DocsExampleExtractor.examples(in: markdown)
        XCTAssertEqual(examples.map(\.kind), [.skip(reason: "placeholder names: run7.* are your files"), .run, .run])
        XCTAssertEqual(examples.map(\.expectedStatus), [0, 64, 0])
    }

    func testMalformedOrStrayMarkersAreErrors() {
        let cases: [(String, DocsExampleError)] = [
            ("<!-- docs-test: skip -->\n```sh\nls\n```", .missingReason(line: 1)),
            ("<!-- docs-test: exit 1 -->\n```sh\nls\n```", .missingReason(line: 1)),
            ("<!-- docs-test: exit x why -->\n```sh\nls\n```", .unknownDirective(line: 1, "exit x why")),
            ("<!-- docs-test: ignore why -->\n```sh\nls\n```", .unknownDirective(line: 1, "ignore why")),
            ("<!-- docs-test: skip why -->\n\n```sh\nls\n```", .markerWithoutBlock(line: 1)),
            ("<!-- docs-test: skip why -->\n```python\nls\n```", .markerWithoutBlock(line: 1)),
            ("text\n<!-- docs-test: skip why -->", .markerWithoutBlock(line: 2)),
            ("```sh\nls\n", .unclosedFence(line: 1)),
        ]
        // Indented: an indented code block showing the convention, not a marker.
        XCTAssertEqual(try DocsExampleExtractor.examples(in: "    <!-- docs-test: skip why -->\n\ntext"), [])
        for (markdown, expected) in cases {
            XCTAssertThrowsError(try DocsExampleExtractor.examples(in: markdown), markdown) { error in
                XCTAssertEqual(error as? DocsExampleError, expected, markdown)
            }
        }
    }

    func testShellTextSplitsAtOperatorsOutsideQuotesAndRedirections() {
        let s = #"a --m="-2,0;2,0" 2>&1 && b | c; d # e; f"#
        XCTAssertEqual(ShellText.segments(ShellText.strippingComment(s)).map { String(ShellText.strippingComment(s)[$0]).trimmingCharacters(in: .whitespaces) },
                       [#"a --m="-2,0;2,0" 2>&1"#, "b", "c", "d"])
        XCTAssertEqual(ShellText.words(#"x --m="-2,0;2,0" 'a b' c\ d # no"#).map(\.text), ["x", "--m=-2,0;2,0", "a b", "c d"])
        XCTAssertTrue(ShellText.isAssignmentOnly("export A=1 B_2=x"))
        XCTAssertTrue(ShellText.isAssignmentOnly("F=fixtures/torch-l2hmc"))
        XCTAssertFalse(ShellText.isAssignmentOnly("L2HMC_FUZZ_SECONDS=600 swift test"))
        XCTAssertFalse(ShellText.isAssignmentOnly("export"))
    }

    /// Expected strings written from the table in `DocsShortening`'s doc comment.
    func testShorteningTable() {
        let p = "/P"
        let cases: [(String, String)] = [
            ("R=.build/release", "R=/P"),
            (".build/debug/l2hmc-mpi-selftest collectives", "/P/l2hmc-mpi-selftest collectives"),
            ("cat x/.build/release/y", "cat x/.build/release/y"),
            ("$R/l2hmc-run --trajectories 2000 --out run1", "$R/l2hmc-run --trajectories 40 --out run1"),
            ("$R/l2hmc-run --resume run1 --trajectories=4000", "$R/l2hmc-run --resume run1 --trajectories=80"),
            ("l2hmc-run --trajectories 300", "l2hmc-run --trajectories 20"),
            ("mpirun -np 2 $R/l2hmc-run --chains 128 --trajectories 1000 --out run2", "mpirun -np 2 $R/l2hmc-run --chains 64 --trajectories 20 --out run2"),
            ("l2hmc-run --chains 16", "l2hmc-run --trajectories 20 --chains 16"),
            ("$R/l2hmc-run", "$R/l2hmc-run --trajectories 20"),
            ("$R/l2hmc-run   # comment", "$R/l2hmc-run --trajectories 20   # comment"),
            (#"l2hmc-run --target gmm --mixture-means="-2,0;2,0" --eps 0.1"#, #"l2hmc-run --trajectories 20 --target gmm --mixture-means="-2,0;2,0" --eps 0.1"#),
            ("$R/l2hmc-run crossval m.l2z --nlf 2,8", "$R/l2hmc-run crossval --trajectories 20 m.l2z --nlf 2,8"),
            ("$R/l2hmc-run report run1", "$R/l2hmc-run report run1"),
            ("$R/l2hmc-run svd m.l2z", "$R/l2hmc-run svd m.l2z"),
            ("a && $R/l2hmc-run measure e.h5", "a && $R/l2hmc-run measure e.h5"),
            ("$R/l2hmc-run --sampler hmc --out r && $R/l2hmc-run --resume r", "$R/l2hmc-run --trajectories 20 --sampler hmc --out r && $R/l2hmc-run --resume r"),
            ("$R/l2hmc-train --config c.json --out u1.l2z", "$R/l2hmc-train --steps 5 --config c.json --out u1.l2z"),
            ("$R/l2hmc-train --steps 2000 --out g.l2z", "$R/l2hmc-train --steps 5 --out g.l2z"),
            ("$R/l2hmc-train --steps 3", "$R/l2hmc-train --steps 3"),
            ("$R/l2hmc-train --resume u1.ckpt.h5 --out u1.l2z", "$R/l2hmc-train --resume u1.ckpt.h5 --out u1.l2z"),
            ("$R/l2hmc-train report u1.l2z", "$R/l2hmc-train report u1.l2z"),
            ("l2hmc-convert inspect m.l2z --steps-like 9", "l2hmc-convert inspect m.l2z --steps-like 9"),
        ]
        for (input, expected) in cases {
            XCTAssertEqual(DocsShortening.shortened(input, products: p), expected, input)
        }
    }

    /// The runner compares statuses, carries assignments, works in a scratch copy of the fixtures.
    func testRunnerReportsStatusesAndWorksInAScratchCopy() throws {
        let markdown = """
            ```sh
            CODE=3
            bash -c "exit $CODE"
            test -f fixtures/default.l2z && test ! -L fixtures && touch made-by-docs-test
            test -f made-by-docs-test
            ```
            <!-- docs-test: exit 3 shows a failure on purpose -->
            ```sh
            bash -c "exit $CODE"
            ```
            <!-- docs-test: skip never run -->
            ```sh
            touch should-not-exist
            ```
            """
        let scratch = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let runner = DocsExampleRunner(products: CLI.productsDirectory, fixtures: CLI.repositoryRoot.appendingPathComponent("fixtures"))
        let outcomes = try runner.run(markdown: markdown, file: "t.md", scratchRoot: scratch)
        XCTAssertEqual(outcomes.map(\.status), [nil, 3, 0, 0, 3, nil])
        XCTAssertEqual(outcomes.map(\.failed), [false, true, false, false, false, false])
        XCTAssertEqual(outcomes.last?.skipReason, "never run")

        // A documented error code must be the one printed.
        let coded = """
            <!-- docs-test: exit 1 on purpose -->
            ```sh
            echo "error: [x.y] z" >&2; exit 1   # error: [x.y] z
            echo "error: [x.other] z" >&2; exit 1   # error: [x.y] z
            ```
            """
        let codedOutcomes = try runner.run(markdown: coded, file: "c.md", scratchRoot: scratch)
        XCTAssertEqual(codedOutcomes.map(\.status), [1, 1])
        XCTAssertEqual(codedOutcomes.map(\.missingErrorCode), [nil, "error: [x.y]"])
        XCTAssertEqual(codedOutcomes.map(\.failed), [false, true])
        XCTAssertFalse(FileManager.default.fileExists(atPath: CLI.repositoryRoot.appendingPathComponent("made-by-docs-test").path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: scratch.appendingPathComponent("t.md/made-by-docs-test").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.appendingPathComponent("t.md/should-not-exist").path))
    }
}

import Foundation

/// Runs the examples of one Markdown file in document order, as `DocsExamplesTests` describes:
/// each in `/bin/bash -c` (with `set -o pipefail`, after the file's earlier assignments), with
/// the working directory a scratch directory holding a copy of the repository's `fixtures`
/// (a copy, not a symlink: an example that writes under `fixtures/` cannot touch the checkout),
/// the products directory first on PATH, lengths shortened by `DocsShortening`, and a time limit.
struct DocsExampleRunner {
    struct Outcome {
        let file: String
        let example: DocsExample
        /// The script as run (shortened), nil when not run.
        let asRun: String?
        let status: Int32?
        let seconds: Double
        let stderrTail: String
        /// Why it did not run: the block's marker reason, or a missing program.
        let skipReason: String?

        var failed: Bool { status.map { $0 != example.expectedStatus } ?? false || missingErrorCode != nil }

        /// For an example expected to fail whose trailing comment quotes `error: [code]`: that
        /// text when stderr lacks it (the documented code is part of what the doc promises).
        var missingErrorCode: String? {
            let comment = String(example.text.dropFirst(example.command.count))
            guard status != nil, example.expectedStatus != 0,
                  let range = comment.range(of: #"error: \[[a-z0-9_.]+\]"#, options: .regularExpression) else { return nil }
            let code = String(comment[range])
            return stderrTail.contains(code) ? nil : code
        }
    }

    let products: URL
    let fixtures: URL
    /// Per-command limit (timeout(1) kills the whole process group after it).
    var secondsLimit = 120

    /// Runs `markdown` (named `file` in messages) in a new directory under `scratchRoot`.
    func run(markdown: String, file: String, scratchRoot: URL) throws -> [Outcome] {
        let examples = try DocsExampleExtractor.examples(in: markdown)
        guard examples.contains(where: { $0.kind == .run }) else {
            return examples.map { Outcome(file: file, example: $0, asRun: nil, status: nil, seconds: 0, stderrTail: "", skipReason: skipReason($0)) }
        }
        let name = file.replacingOccurrences(of: "/", with: "_")
        let cwd = scratchRoot.appendingPathComponent(name)
        let logs = scratchRoot.appendingPathComponent(name + ".logs")
        try FileManager.default.createDirectory(at: cwd, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: fixtures, to: cwd.appendingPathComponent("fixtures"))
        var prelude: [String] = []
        var outcomes: [Outcome] = []
        for (n, example) in examples.enumerated() {
            switch example.kind {
            case .skip(let reason):
                outcomes.append(Outcome(file: file, example: example, asRun: nil, status: nil, seconds: 0, stderrTail: "", skipReason: reason))
            case .setup:
                prelude.append(DocsShortening.shortened(example.text, products: products.path))
                outcomes.append(Outcome(file: file, example: example, asRun: nil, status: nil, seconds: 0, stderrTail: "", skipReason: nil))
            case .run:
                let command = DocsShortening.shortened(example.text, products: products.path)
                if let missing = missingProgram(command) {
                    outcomes.append(Outcome(file: file, example: example, asRun: nil, status: nil, seconds: 0, stderrTail: "",
                                            skipReason: "\(missing) is not on PATH"))
                    continue
                }
                let script = (["set -o pipefail"] + prelude + [command]).joined(separator: "\n")
                let started = Date()
                let (status, stderr) = try execute(script, cwd: cwd, log: logs.appendingPathComponent("\(n)"))
                outcomes.append(Outcome(file: file, example: example, asRun: command, status: status,
                                        seconds: Date().timeIntervalSince(started), stderrTail: stderr, skipReason: nil))
            }
        }
        return outcomes
    }

    private func skipReason(_ example: DocsExample) -> String? {
        if case .skip(let reason) = example.kind { return reason }
        return nil
    }

    /// `mpirun` is the one program an example may need besides the tools and coreutils; without
    /// it (a machine without Open MPI) its examples are reported as skipped, not failed.
    private func missingProgram(_ command: String) -> String? {
        for segment in ShellText.segments(command) {
            if let first = ShellText.words(command[segment]).first?.text, first == "mpirun", !onPath(first) { return first }
        }
        return nil
    }

    private func onPath(_ program: String) -> Bool {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        return path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(program)") }
    }

    /// Exit status and the last lines of stderr (stdout and stderr go to files: no pipe can fill).
    private func execute(_ script: String, cwd: URL, log: URL) throws -> (Int32, String) {
        let out = log.appendingPathExtension("out"), err = log.appendingPathExtension("err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let outHandle = try FileHandle(forWritingTo: out), errHandle = try FileHandle(forWritingTo: err)
        defer { try? outHandle.close(); try? errHandle.close() }
        let process = Process()
        let timeout = URL(fileURLWithPath: "/usr/bin/timeout")
        if FileManager.default.isExecutableFile(atPath: timeout.path) {
            process.executableURL = timeout
            process.arguments = ["-k", "5", "\(secondsLimit)", "/bin/bash", "-c", script]
        } else {
            process.executableURL = URL(fileURLWithPath: "/bin/bash")
            process.arguments = ["-c", script]
        }
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = products.path + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        if geteuid() == 0 {
            // The README's mpirun lines say so: Open MPI refuses root without both.
            environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
            environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        }
        process.environment = environment
        process.currentDirectoryURL = cwd
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = outHandle
        process.standardError = errHandle
        try process.run()
        process.waitUntilExit()
        let text = (try? String(contentsOf: err, encoding: .utf8)) ?? ""
        var tail = text.split(separator: "\n", omittingEmptySubsequences: false).suffix(12).joined(separator: "\n")
        if process.terminationStatus == 124 || process.terminationStatus == 137 { tail += "\n(timed out after \(secondsLimit) s)" }
        return (process.terminationStatus, tail)
    }
}

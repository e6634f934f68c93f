import Foundation
import XCTest

/// Runs the built executables end to end, as a user would.
enum CLI {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// Directory holding the built products (the test bundle sits next to them).
    static var productsDirectory: URL {
        let bundle = Bundle.main.bundleURL
        let candidates = [bundle, bundle.deletingLastPathComponent()]
        for c in candidates where FileManager.default.fileExists(atPath: c.appendingPathComponent("l2hmc-convert").path) { return c }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/debug")
    }

    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    static func run(_ tool: String, _ arguments: [String], cwd: URL? = nil, environment: [String: String] = [:]) throws -> Result {
        try run(executable: productsDirectory.appendingPathComponent(tool), arguments, cwd: cwd, environment: environment)
    }

    /// Runs any program to its end, collecting its output; `environment` adds to (or replaces
    /// entries of) this process's environment.
    static func run(executable: URL, _ arguments: [String], cwd: URL? = nil, environment: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        process.currentDirectoryURL = cwd ?? repositoryRoot
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    /// Starts `tool`, waits until its stdout contains `marker` (the line a command prints just
    /// before its main loop), lets it work `seconds` more, sends SIGINT, and waits for the exit.
    /// Returns the exit status and stderr.
    static func interrupt(_ tool: String, _ arguments: [String], after marker: String, seconds: Double) throws -> (status: Int32, stderr: String) {
        let process = Process()
        process.executableURL = productsDirectory.appendingPathComponent(tool)
        process.arguments = arguments
        process.currentDirectoryURL = repositoryRoot
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        _ = waitForOutput(out, containing: marker)
        Thread.sleep(forTimeInterval: seconds)
        process.interrupt()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }

    /// Reads `pipe` until its text contains `marker` (or 60 s pass); returns what was read.
    static func waitForOutput(_ pipe: Pipe, containing marker: String) -> String {
        var text = ""
        let deadline = Date().addingTimeInterval(60)
        while !text.contains(marker) && Date() < deadline {
            let data = pipe.fileHandleForReading.availableData
            if data.isEmpty { break }
            text += String(decoding: data, as: UTF8.self)
        }
        return text
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("l2hmc-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

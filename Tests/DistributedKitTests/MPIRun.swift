import Foundation
import XCTest

/// Runs l2hmc-mpi-selftest alone or under Open MPI's `mpirun`, with a watchdog.
enum MPIRun {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
        /// stdout's lines, sorted (ranks print in any order).
        var lines: [String] { stdout.split(separator: "\n").map(String.init).sorted() }
    }

    /// The selftest built next to this test bundle (or in .build/debug).
    static var selftest: URL {
        let bundle = Bundle.main.bundleURL
        for c in [bundle, bundle.deletingLastPathComponent()] where FileManager.default.fileExists(atPath: c.appendingPathComponent("l2hmc-mpi-selftest").path) {
            return c.appendingPathComponent("l2hmc-mpi-selftest")
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/debug/l2hmc-mpi-selftest")
    }

    /// `mpirun` on PATH, or a skip that says how to get it.
    static func mpirun() throws -> URL {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(dir)).appendingPathComponent("mpirun")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw XCTSkip("mpirun not found on PATH: install Open MPI (apt-get install openmpi-bin libopenmpi-dev; scripts/setup.sh does) to run the MPI tests")
    }

    /// This process's environment without any MPI launcher variable (a plain start), plus `extra`.
    static func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("OMPI_") && !$0.key.hasPrefix("PMIX_") }
        env.merge(extra) { $1 }
        return env
    }

    /// Open MPI refuses to run as root without these (CI runs as root).
    static let rootVariables = ["OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"]

    /// `mpirun --oversubscribe -np ranks selftest arguments` (the machine has 2 cores).
    static func process(ranks: Int, _ arguments: [String]) throws -> Process {
        let p = Process()
        p.executableURL = try mpirun()
        p.arguments = ["--oversubscribe", "-np", String(ranks), selftest.path] + arguments
        p.environment = environment(rootVariables)
        return p
    }

    /// Runs the selftest alone.
    static func plain(_ arguments: [String]) throws -> Result {
        let p = Process()
        p.executableURL = selftest
        p.arguments = arguments
        p.environment = environment()
        return try run(p)
    }

    /// Runs `process` to its end (killed after `timeout` seconds: a hang fails, never blocks),
    /// with `during` called with its stdout pipe once started.
    static func run(_ process: Process, timeout: Double = 60, during: ((Pipe) -> String)? = nil) throws -> Result {
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
        defer { watchdog.cancel() }
        let early = during?(out) ?? ""
        // stderr holds at most mpirun's few messages, far below a pipe's buffer: read after stdout.
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let stderrData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: early + String(decoding: o, as: UTF8.self),
                      stderr: String(decoding: stderrData, as: UTF8.self))
    }

    /// Reads `pipe` until its text contains every one of `markers` (or 30 s pass).
    static func read(_ pipe: Pipe, until markers: [String]) -> String {
        var text = ""
        let deadline = Date().addingTimeInterval(30)
        while !markers.allSatisfy(text.contains) && Date() < deadline {
            let data = pipe.fileHandleForReading.availableData
            if data.isEmpty { break }
            text += String(decoding: data, as: UTF8.self)
        }
        return text
    }
}

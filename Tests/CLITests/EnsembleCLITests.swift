import Foundation
import XCTest
import ModelFormat

/// `l2hmc-run --save-configs` and `l2hmc-run measure`: the saved configurations reproduce the
/// run's own records bit for bit, their Wilson loops agree with the exact torus values, h5py reads
/// them, and they stay consistent with the run directory through SIGTERM, kill -9 and --resume.
final class EnsembleCLITests: XCTestCase {
    private var dir: URL!
    override func setUpWithError() throws { dir = try CLI.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    private func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    private func npy(_ file: String) throws -> NDArray {
        try NpyCodec.decode(Array(try Data(contentsOf: URL(fileURLWithPath: file))), name: file, limits: ReadLimits())
    }

    private func measure(_ ensemble: String, _ extra: [String] = []) throws -> [String: JSONValue] {
        let r = try CLI.run("l2hmc-run", ["measure", ensemble, "--json"] + extra)
        XCTAssertEqual(r.status, 0, r.stderr)
        guard case let .object(o) = try StrictJSONParser.parse(Array(r.stdout.utf8)) else { throw NSError(domain: "measure", code: 1) }
        return o
    }

    private func grid(_ v: JSONValue?) -> [[Double]] {
        guard case let .array(rows)? = v else { return [] }
        return rows.map { row in
            guard case let .array(cells) = row else { return [] }
            return cells.map { c -> Double in
                switch c {
                case let .double(d): return d
                case let .int(i): return Double(i)
                default: return .nan
                }
            }
        }
    }

    private func python(_ script: String, _ arguments: [String]) throws -> CLI.Result {
        try CLI.run(executable: URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", script] + arguments)
    }

    // MARK: (a) the run's own series, bit for bit

    /// A mixed L2HMC/HMC schedule of the shipped model and a plain HMC run: `measure` recomputes
    /// plaquette, Q_int and Q_sin from the saved configurations, and every value equals the
    /// run's own `plaquette.npy`, `q_int.npy`, `q_sin.npy` row of that trajectory, bit for bit.
    func testMeasureReproducesTheRunsRecordedSeriesBitForBit() throws {
        let runs: [(String, [String])] = [
            ("l2hmc", ["--schedule", "l2hmc:1,hmc:1", "--chains", "8", "--trajectories", "12", "--save-configs", "3"]),
            ("hmc", ["--sampler", "hmc", "--lattice", "6x4", "--beta", "1.5", "--chains", "12", "--trajectories", "40", "--save-configs", "4", "--tile", "5"]),
        ]
        for (name, arguments) in runs {
            let out = path(name)
            let r = try CLI.run("l2hmc-run", arguments + ["--out", out, "-q", "--seed", "5"])
            XCTAssertEqual(r.status, 0, r.stderr)
            let o = try measure("\(out)/ensemble.h5")
            guard case let .array(t)? = o["trajectory"], case let .object(per)? = o["per_configuration"] else { return XCTFail("no series") }
            let trajectories = t.compactMap { v -> Int? in if case let .int(i) = v { return Int(i) }; return nil }
            let every = name == "l2hmc" ? 3 : 4, total = name == "l2hmc" ? 12 : 40
            XCTAssertEqual(trajectories, Array(stride(from: every, through: total, by: every)))
            for series in ["plaquette", "q_int", "q_sin"] {
                let recorded = try npy("\(out)/\(series).npy")
                let chains = recorded.shape[1], values = recorded.doubles()
                let measured = grid(per[series])
                XCTAssertEqual(measured.count, trajectories.count)
                for (i, traj) in trajectories.enumerated() {
                    let row = Array(values[((traj - 1) * chains)..<(traj * chains)])
                    XCTAssertEqual(measured[i].map(\.bitPattern), row.map { $0 == 0 ? 0 : $0.bitPattern }, "\(name) \(series) at trajectory \(traj)")
                }
            }
            // The last saved configuration is the run's final state (an independent file).
            let finals = try npy("\(out)/final_states.npy").doubles()
            let check = try python("""
                import sys, h5py, numpy as np
                f = h5py.File(sys.argv[1], "r")
                final = np.load(sys.argv[2])
                assert np.array_equal(f["configs"][-1], final), "last row differs from final_states.npy"
                print(f["configs"].shape, f.attrs["every"], f.attrs["model"])
                """, ["\(out)/ensemble.h5", "\(out)/final_states.npy"])
            XCTAssertEqual(check.status, 0, check.stderr)
            XCTAssertFalse(finals.isEmpty)
        }
    }

    // MARK: (b) Wilson loops against the exact torus values

    /// I_k(b) by composite Simpson on (1/pi) int_0^pi e^{b cos p} cos(k p) dp (independent of
    /// the runtime's Bessel code).
    private static func besselI(_ k: Int, _ b: Double) -> Double {
        let n = 2000, h = Double.pi / Double(n)
        var s = 0.0
        for i in 0...n {
            let p = Double(i) * h, f = exp(b * cos(p)) * cos(Double(k) * p)
            s += (i == 0 || i == n) ? f : (i % 2 == 1 ? 4 * f : 2 * f)
        }
        return s * h / 3 / Double.pi
    }

    /// Plain HMC on 6x6 at beta 2: W(R, T) for R, T = 1...3 from `measure` within 4 of its
    /// honest errors of the character expansion on the torus, sum_k I_k^{V-A} I_{k+1}^A /
    /// sum_k I_k^V with A = R T (computed here), and of the infinite-volume area law
    /// (I1/I0)^(R T) (whose finite-volume correction here is below 1e-4, a fraction of the errors).
    func testWilsonLoopsAgreeWithTheExactTorusValues() throws {
        let out = path("wilson")
        let (lt, lx, beta) = (6, 6, 2.0)
        let r = try CLI.run("l2hmc-run", ["--sampler", "hmc", "--lattice", "\(lt)x\(lx)", "--beta", "\(beta)", "--eps", "0.25", "--nlf", "6",
                                          "--chains", "32", "--trajectories", "240", "--save-configs", "2", "--seed", "3", "--out", out, "-q"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let o = try measure("\(out)/ensemble.h5", ["--wilson-max", "3"])
        guard case let .array(summary)? = o["summary"] else { return XCTFail("no summary") }
        let volume = lt * lx
        let bessel = (0...25).map { Self.besselI($0, beta) }
        func I(_ k: Int) -> Double { abs(k) < bessel.count ? bessel[abs(k)] : 0 }
        var report: [String] = []
        for rr in 1...3 {
            for tt in 1...3 {
                let area = rr * tt
                var num = 0.0, den = 0.0
                for k in -24...24 {
                    num += pow(I(k), Double(volume - area)) * pow(I(k + 1), Double(area))
                    den += pow(I(k), Double(volume))
                }
                let exact = num / den, areaLaw = pow(I(1) / I(0), Double(area))
                guard let row = summary.first(where: { if case let .object(q) = $0 { return q["name"] == .string("W(\(rr),\(tt))") }; return false }),
                      case let .object(q) = row, case let .double(mean)? = q["mean"], case let .double(error)? = q["error"] else {
                    return XCTFail("W(\(rr),\(tt)) missing")
                }
                XCTAssertGreaterThan(error, 0)
                XCTAssertLessThan(abs(mean - exact), 4 * error, "W(\(rr),\(tt)) = \(mean) +- \(error), exact \(exact)")
                XCTAssertLessThan(abs(mean - areaLaw), 4 * error + abs(exact - areaLaw), "area law")
                XCTAssertLessThan(abs(exact - areaLaw), 1e-4)
                if case let .double(e)? = q["exact"] { XCTAssertEqual(e, exact, accuracy: 1e-12, "the exact value measure prints") }
                report.append(String(format: "W(%d,%d) %.5f +- %.5f exact %.5f (z %+.2f)", rr, tt, mean, error, exact, (mean - exact) / error))
            }
        }
        print("wilson loops 6x6 beta 2: " + report.joined(separator: "; "))
    }

    // MARK: (c) h5py reads the ensemble

    /// h5py opens the file with no code of ours: the layout and attributes of docs/RUNTIME.md,
    /// angles in [-pi, pi), and numpy's own plaquette of every saved configuration equals the
    /// run's recorded one to rounding (an independent implementation of phi_P in the link layout).
    func testH5pyReadsTheLayoutAndNumpyRecomputesThePlaquette() throws {
        let out = path("h5py")
        let r = try CLI.run("l2hmc-run", ["--sampler", "hmc", "--lattice", "4x6", "--beta", "2", "--chains", "5", "--trajectories", "30",
                                          "--save-configs", "5", "--seed", "9", "--out", out, "-q"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let check = try python("""
            import sys, h5py, numpy as np
            d = sys.argv[1]
            f = h5py.File(d + "/ensemble.h5", "r")
            a = dict(f.attrs)
            assert a["format"] == "l2hmc-ensemble" and a["format_version"] == "1.0" and a["target"] == "u1", a
            assert (a["lt"], a["lx"], a["beta"], a["every"], a["chains"], a["seed"], a["model"], a["link_layout"]) == (4, 6, 2.0, 5, 5, "9", "hmc", "t_x_mu"), a
            c, t = f["configs"][...], f["trajectory"][...]
            assert c.dtype == np.float64 and c.shape == (6, 5, 48), c.shape
            assert t.dtype == np.int64 and list(t) == [5, 10, 15, 20, 25, 30], t
            assert np.all(c >= -np.pi) and np.all(c < np.pi)
            lt, lx = 4, 6
            u = c.reshape(6, 5, lt, lx, 2)          # t_x_mu: index ((t * Lx) + x) * 2 + mu
            x0, x1 = u[..., 0], u[..., 1]
            phi = x0 + np.roll(x1, -1, axis=2) - np.roll(x0, -1, axis=3) - x1
            plaq = np.cos(phi).mean(axis=(2, 3))
            rec = np.load(d + "/plaquette.npy")[t - 1]
            assert np.max(np.abs(plaq - rec)) < 1e-13, np.max(np.abs(plaq - rec))
            q = np.round(((phi + np.pi) % (2 * np.pi) - np.pi).sum(axis=(2, 3)) / (2 * np.pi))
            assert np.array_equal(q, np.load(d + "/q_int.npy")[t - 1])
            print("ok", np.max(np.abs(plaq - rec)))
            """, [out])
        XCTAssertEqual(check.status, 0, check.stderr)
        XCTAssertTrue(check.stdout.hasPrefix("ok"), check.stdout)
    }

    // MARK: (d) interruption and resume

    private let durable = ["--sampler", "hmc", "--lattice", "4x4", "--chains", "3", "--beta", "1.5", "--eps", "0.2", "--nlf", "5",
                           "--seed", "11", "-q", "--checkpoint-every", "47", "--save-configs", "3"]

    /// Compares two ensembles with h5py: same configs and trajectory datasets, element for element.
    private func assertSameEnsemble(_ a: String, _ b: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try python("""
            import sys, h5py, numpy as np
            a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
            assert np.array_equal(a["trajectory"][...], b["trajectory"][...]), (a["trajectory"].shape, b["trajectory"].shape)
            assert np.array_equal(a["configs"][...], b["configs"][...])
            assert dict(a.attrs) == dict(b.attrs)
            print(a["configs"].shape[0])
            """, [a, b])
        XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)
    }

    /// The committed trajectory count of a run directory.
    private func committed(_ path: String) -> Int? {
        guard let bytes = try? AtomicFile.read("\(path)/state.json", limit: 1 << 16), case let .object(o)? = try? StrictJSONParser.parse(bytes),
              case let .int(i)? = o["trajectory_index"] else { return nil }
        return Int(i)
    }

    /// SIGTERM mid-run, then --resume: the ensemble holds the saved trajectories up to the
    /// record (no gap, no duplicate) after the stop, and after resuming to the end it equals the
    /// ensemble of an uninterrupted run. Then kill -9 at random moments (several resumes), and
    /// `--resume OLD --out NEW`: the same ensemble again.
    func testEnsembleStaysConsistentWithTheRecordThroughSignalsKillsAndResume() throws {
        let total = 1500
        let reference = path("reference")
        let ref = try CLI.run("l2hmc-run", durable + ["--trajectories", "\(total)", "--out", reference])
        XCTAssertEqual(ref.status, 0, ref.stderr)

        // SIGTERM.
        let out = path("term")
        let p = Process()
        p.executableURL = CLI.productsDirectory.appendingPathComponent("l2hmc-run")
        p.arguments = durable.filter { $0 != "-q" } + ["--trajectories", "\(total)", "--out", out]
        p.currentDirectoryURL = dir
        let stdout = Pipe()
        p.standardOutput = stdout
        p.standardError = FileHandle.nullDevice
        try p.run()
        _ = CLI.waitForOutput(stdout, containing: "ensemble    ")
        Thread.sleep(forTimeInterval: 0.05)
        p.terminate()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 143)
        let k = try XCTUnwrap(committed(out))
        XCTAssertLessThan(k, total, "the run ended before SIGTERM; the test needs a longer run")
        let stopped = try measure("\(out)/ensemble.h5", ["--wilson-max", "1"])
        guard case let .array(t)? = stopped["trajectory"] else { return XCTFail("no trajectories") }
        XCTAssertEqual(t, Array(stride(from: 3, through: k, by: 3)).map { JSONValue.int(Int64($0)) }, "after SIGTERM: every saved trajectory up to the record's \(k)")
        let resumed = try CLI.run("l2hmc-run", ["--resume", out, "-q"], cwd: dir)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        try assertSameEnsemble("\(reference)/ensemble.h5", "\(out)/ensemble.h5")

        // kill -9 at random moments, each followed by a resume.
        let killed = path("killed")
        var rng = SystemRandomNumberGenerator()
        var kills = 0
        while kills < 4 {
            let exists = FileManager.default.fileExists(atPath: killed)
            let q = Process()
            q.executableURL = CLI.productsDirectory.appendingPathComponent("l2hmc-run")
            q.arguments = exists ? ["--resume", killed, "-q", "--checkpoint-every", "47"] : durable + ["--trajectories", "\(total)", "--out", killed]
            q.currentDirectoryURL = dir
            q.standardOutput = FileHandle.nullDevice
            q.standardError = FileHandle.nullDevice
            try q.run()
            Thread.sleep(forTimeInterval: 0.05 + Double(UInt64.random(in: 0..<100, using: &rng)) / 1000)
            kill(q.processIdentifier, SIGKILL)
            q.waitUntilExit()
            if q.terminationReason == .exit { break }
            kills += 1
        }
        let finish = try CLI.run("l2hmc-run", ["--resume", killed, "-q"], cwd: dir)
        XCTAssertEqual(finish.status, 0, finish.stderr)
        try assertSameEnsemble("\(reference)/ensemble.h5", "\(killed)/ensemble.h5")

        // Continue a stopped run into a new directory: the rows up to its checkpoint are copied.
        let partial = path("partial")
        let half = try CLI.run("l2hmc-run", durable + ["--trajectories", "1000", "--out", partial])
        XCTAssertEqual(half.status, 0, half.stderr)
        let moved = path("moved")
        let next = try CLI.run("l2hmc-run", ["--resume", partial, "--trajectories", "\(total)", "--out", moved, "-q"], cwd: dir)
        XCTAssertEqual(next.status, 0, next.stderr)
        try assertSameEnsemble("\(reference)/ensemble.h5", "\(moved)/ensemble.h5")
        print("ensemble durability: SIGTERM after \(k) trajectories, \(kills) kills, resumed ensembles identical to the uninterrupted run")
    }

    // MARK: mpirun

    /// Two MPI ranks (rows gathered to rank 0, which alone writes) give the single process's
    /// ensemble byte for byte. Skipped when mpirun is missing (CI installs it).
    func testTwoMPIProcessesWriteTheSingleProcessEnsemble() throws {
        guard let mpirun = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
            .map({ URL(fileURLWithPath: String($0)).appendingPathComponent("mpirun") })
            .first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw XCTSkip("mpirun not found: apt-get install openmpi-bin libopenmpi-dev (scripts/setup.sh does)")
        }
        let arguments = ["--sampler", "hmc", "--lattice", "4x4", "--chains", "10", "--tile", "4", "--trajectories", "30",
                         "--save-configs", "2", "--checkpoint-every", "7", "--seed", "4", "-q"]
        let single = path("single"), multi = path("multi")
        let r = try CLI.run("l2hmc-run", arguments + ["--out", single])
        XCTAssertEqual(r.status, 0, r.stderr)
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("OMPI_") && !$0.key.hasPrefix("PMIX_") }
        env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"; env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        let p = Process()
        p.executableURL = mpirun
        p.arguments = ["--oversubscribe", "-np", "2", CLI.productsDirectory.appendingPathComponent("l2hmc-run").path] + arguments + ["--out", multi]
        p.environment = env
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, String(decoding: e, as: UTF8.self))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: "\(single)/ensemble.h5")), try Data(contentsOf: URL(fileURLWithPath: "\(multi)/ensemble.h5")))
    }

    // MARK: Refusals

    func testOptionsAndDamagedEnsemblesAreRefusedWithCodes() throws {
        func run(_ a: [String]) throws -> CLI.Result { try CLI.run("l2hmc-run", a, cwd: dir) }
        var r = try run(["--sampler", "hmc", "--save-configs", "0", "--out", path("x")])
        XCTAssertEqual(r.status, 64); XCTAssertTrue(r.stderr.contains("--save-configs must be >= 1"), r.stderr)
        r = try run(["--sampler", "hmc", "--save-configs", "2"])
        XCTAssertEqual(r.status, 64); XCTAssertTrue(r.stderr.contains("needs --out"), r.stderr)
        r = try run(["--sampler", "hmc", "--target", "gmm", "--save-configs", "2", "--out", path("g")])
        XCTAssertEqual(r.status, 64); XCTAssertTrue(r.stderr.contains("Gaussian mixture"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("g")))

        let out = path("ok")
        r = try run(["--sampler", "hmc", "--lattice", "4x4", "--chains", "2", "--trajectories", "6", "--save-configs", "2", "--out", out, "-q"])
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try run(["--resume", out, "--trajectories", "8", "--save-configs", "3"])
        XCTAssertEqual(r.status, 64); XCTAssertTrue(r.stderr.contains("--save-configs cannot change when resuming"), r.stderr)
        r = try run(["measure", "\(out)/ensemble.h5", "--wilson-max", "4"])
        XCTAssertEqual(r.status, 64); XCTAssertTrue(r.stderr.hasPrefix("error: [run.invalid_option] --wilson-max"), r.stderr)

        // Not an ensemble: a text file, an HDF5 file of another kind.
        try Data("hello".utf8).write(to: URL(fileURLWithPath: path("t.h5")))
        r = try run(["measure", path("t.h5")])
        XCTAssertEqual(r.status, 1); XCTAssertTrue(r.stderr.hasPrefix("error: [ensemble.not_ensemble]"), r.stderr)
        let edits: [(String, String, String)] = [
            ("other", "f = h5py.File(p, 'w'); f['x'] = np.zeros(3)", "ensemble.not_ensemble"),
            ("version", "f = h5py.File(p, 'a'); f.attrs['format_version'] = '2.0'", "ensemble.format_version"),
            ("chains", "f = h5py.File(p, 'a'); f.attrs['chains'] = np.int64(3)", "ensemble.inconsistent"),
            ("gap", "f = h5py.File(p, 'a'); f['trajectory'][1] = 5", "ensemble.inconsistent"),
            ("angle", "f = h5py.File(p, 'a'); f['configs'][0, 0, 0] = 4.0", "ensemble.inconsistent"),
            ("rows", "f = h5py.File(p, 'a'); f['trajectory'].resize((2,))", "ensemble.inconsistent"),
        ]
        // One python process makes every damaged copy.
        var script = "import sys, h5py, numpy as np\n"
        for (name, edit, _) in edits {
            let p = path("\(name).h5")
            try FileManager.default.copyItem(atPath: "\(out)/ensemble.h5", toPath: p)
            script += "p = \(String(reflecting: p))\n\(edit)\nf.close()\n"
        }
        let made = try python(script, [])
        XCTAssertEqual(made.status, 0, made.stderr)
        for (name, _, code) in edits {
            let p = path("\(name).h5")
            r = try run(["measure", p])
            XCTAssertEqual(r.status, 1, "\(name): \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("error: [\(code)]"), "\(name): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1)
            XCTAssertTrue(r.stdout.isEmpty, "no partial output")
        }
        // A run directory whose ensemble lost committed rows refuses to resume, and is left as it is.
        let e = try python("import sys, h5py\nf = h5py.File(sys.argv[1], 'a'); f['configs'].resize((1, 2, 32)); f['trajectory'].resize((1,)); f.close()", ["\(out)/ensemble.h5"])
        XCTAssertEqual(e.status, 0, e.stderr)
        r = try run(["--resume", out, "--trajectories", "10", "-q"])
        XCTAssertEqual(r.status, 1); XCTAssertTrue(r.stderr.hasPrefix("error: [ensemble.inconsistent]") && r.stderr.contains("lost rows"), r.stderr)
        XCTAssertEqual(committed(out), 6)
    }
}

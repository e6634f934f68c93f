import Foundation
import XCTest

/// `l2hmc-run report DIR`: a deterministic, self-contained HTML page. A plain-HMC U(1) run (no
/// BLAS, so its numbers do not depend on the machine's kernels) is reported and compared byte
/// for byte with a committed golden (RECORD_GOLDENS=1 rewrites it); the page is rendered by a real
/// headless browser (Debian's chromium, installed by scripts/test.sh) and the screenshot checked:
/// the requested size, and not blank.
final class RunReportCLITests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try CLI.temporaryDirectory() }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    static var golden: URL { CLI.repositoryRoot.appendingPathComponent("Tests/CLITests/Goldens/hmc-4x4-report.html") }

    func makeRun() throws -> URL {
        let run = dir.appendingPathComponent("run")
        let r = try CLI.run("l2hmc-run", ["--sampler", "hmc", "--lattice", "4x4", "--beta", "2", "--eps", "0.25", "--nlf", "4",
                                          "--chains", "8", "--trajectories", "120", "--seed", "5", "--out", run.path, "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        return run
    }

    func testReportIsDeterministicAndMatchesTheGolden() throws {
        let run = try makeRun()
        let r = try CLI.run("l2hmc-run", ["report", run.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let page = try String(contentsOf: run.appendingPathComponent("report.html"), encoding: .utf8)
        // Self-contained: no script, no external resource.
        XCTAssertFalse(page.contains("<script"))
        XCTAssertFalse(page.contains("http://") && !page.contains("http://www.w3.org/2000/svg"))
        XCTAssertFalse(page.contains("https://"))
        for panel in ["Q_int(t)", "Distribution of Q_int", "exact (character expansion", "Mean plaquette per trajectory",
                      "Normalized autocorrelation", "Cumulative tunneling events", "Acceptance probability", "Running mean of exp(-dH + log det)"] {
            XCTAssertTrue(page.contains(panel), panel)
        }
        // Run again into another file: the same bytes. The run directory path is part of the
        // page, so the golden is compared after replacing it.
        let other = dir.appendingPathComponent("again.html")
        XCTAssertEqual(try CLI.run("l2hmc-run", ["report", run.path, "-o", other.path]).status, 0)
        XCTAssertEqual(try Data(contentsOf: other), try Data(contentsOf: run.appendingPathComponent("report.html")))
        let normalized = page.replacingOccurrences(of: run.path, with: "RUN")
        if ProcessInfo.processInfo.environment["RECORD_GOLDENS"] == "1" {
            try FileManager.default.createDirectory(at: Self.golden.deletingLastPathComponent(), withIntermediateDirectories: true)
            try normalized.write(to: Self.golden, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOf: Self.golden, encoding: .utf8)
        XCTAssertEqual(normalized, expected, "the report differs from \(Self.golden.path); if the change is intended, rerun with RECORD_GOLDENS=1")
        // The run directory still resumes with the report in it (report.html is a known entry).
        let resumed = try CLI.run("l2hmc-run", ["--resume", run.path, "--trajectories", "130", "--quiet"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
    }

    func testExistingForeignOutputIsNotReplacedWithoutForce() throws {
        let run = try makeRun()
        let foreign = dir.appendingPathComponent("mine.html")
        try Data("my notes".utf8).write(to: foreign)
        let r = try CLI.run("l2hmc-run", ["report", run.path, "-o", foreign.path])
        XCTAssertEqual(r.status, 64, r.stderr)
        XCTAssertEqual(try String(contentsOf: foreign, encoding: .utf8), "my notes")
        XCTAssertEqual(try CLI.run("l2hmc-run", ["report", run.path, "-o", foreign.path, "--force"]).status, 0)
        XCTAssertEqual(try CLI.run("l2hmc-run", ["report", dir.path]).status, 64, "not a run directory")
    }

    /// The report of the shipped model's default run (`l2hmc-run --out DIR`: fixtures/default.l2z,
    /// 1000 trajectories x 64 chains) matches a committed golden byte for byte, and a real browser
    /// renders it: the screenshot has the requested size and is not blank (counted in its decoded
    /// pixels by python3's zlib: many non-white pixels, several colours). The run's bits depend on
    /// the BLAS kernel set only (docs/RUNTIME.md, "Threads and tiles"), so the test pins
    /// OpenBLAS's Haswell kernels (any x86-64 CPU with AVX2), as RunThreadsCLITests does.
    func testHeadlessChromiumRendersThePanels() throws {
        let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let chromium else {
            XCTFail("chromium is needed for this test (Debian: apt-get install chromium; scripts/test.sh installs it)")
            return
        }
        let run = dir.appendingPathComponent("shipped")
        // --threads 2 only fixes what params.json records (the numbers do not depend on it).
        let made = try CLI.run("l2hmc-run", ["--out", run.path, "--threads", "2", "--quiet"], environment: ["OPENBLAS_CORETYPE": "Haswell"])
        XCTAssertEqual(made.status, 0, made.stderr)
        XCTAssertEqual(try CLI.run("l2hmc-run", ["report", run.path]).status, 0)
        let page = try String(contentsOf: run.appendingPathComponent("report.html"), encoding: .utf8)
        for panel in ["Q_int(t)", "Distribution of Q_int", "Mean plaquette per trajectory", "Normalized autocorrelation",
                      "Cumulative tunneling events", "Acceptance probability", "dH per trajectory", "Running mean of exp(-dH + log det)"] {
            XCTAssertTrue(page.contains(panel), panel)
        }
        // The model path (absolute in params.json) and the run directory are the machine's: normalized.
        let model = CLI.repositoryRoot.appendingPathComponent("fixtures/default.l2z").standardizedFileURL.path
        let normalized = page.replacingOccurrences(of: run.path, with: "RUN").replacingOccurrences(of: model, with: "MODEL")
        let golden = CLI.repositoryRoot.appendingPathComponent("Tests/CLITests/Goldens/default-run-report.html")
        if ProcessInfo.processInfo.environment["RECORD_GOLDENS"] == "1" {
            try normalized.write(to: golden, atomically: true, encoding: .utf8)
        }
        XCTAssertEqual(normalized, try String(contentsOf: golden, encoding: .utf8),
                       "the shipped model's report differs from \(golden.path); if intended, rerun with RECORD_GOLDENS=1")
        let shot = dir.appendingPathComponent("shot.png")
        let r = try CLI.run(executable: URL(fileURLWithPath: chromium),
                            ["--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=900,2400",
                             "--screenshot=\(shot.path)", "file://" + run.appendingPathComponent("report.html").path],
                            environment: ["HOME": dir.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let script = """
        import struct, sys, zlib
        d = open(sys.argv[1], 'rb').read()
        assert d[:8] == b'\\x89PNG\\r\\n\\x1a\\n'
        pos, idat = 8, b''
        while pos < len(d):
            n, = struct.unpack('>I', d[pos:pos+4]); t = d[pos+4:pos+8]; c = d[pos+8:pos+8+n]; pos += 12 + n
            if t == b'IHDR': w, h, bd, ct = struct.unpack('>IIBB', c[:10])
            if t == b'IDAT': idat += c
        bpp = {2: 3, 6: 4}[ct]
        raw = zlib.decompress(idat); stride = w * bpp
        prev = bytearray(stride); nonwhite = 0; colours = set()
        for y in range(h):
            f = raw[y * (stride + 1)]; line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0; b = prev[i]; c2 = prev[i - bpp] if i >= bpp else 0
                if f == 1: line[i] = (line[i] + a) & 255
                elif f == 2: line[i] = (line[i] + b) & 255
                elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
                elif f == 4:
                    p = a + b - c2; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c2)
                    line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c2)) & 255
            for x in range(0, stride, bpp * 4):
                px = tuple(line[x:x+3])
                if px != (255, 255, 255): nonwhite += 1
                colours.add(px)
            prev = line
        print(w, h, nonwhite, len(colours))
        """
        let p = try CLI.run(executable: URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", script, shot.path])
        XCTAssertEqual(p.status, 0, p.stderr)
        let f = p.stdout.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        XCTAssertEqual(f.count, 4, p.stdout)
        guard f.count == 4 else { return }
        XCTAssertEqual(f[0], 900)
        XCTAssertEqual(f[1], 2400)
        // Sampled every 4th pixel: a blank page has 0 non-white samples and 1 colour; the report's
        // text, axes and series give tens of thousands and dozens of colours.
        XCTAssertGreaterThan(f[2], 10_000, "the screenshot is (nearly) blank")
        XCTAssertGreaterThan(f[3], 20, "too few colours: the plots did not render")
    }
}

extension RunReportCLITests {
    /// A mixture run's report shows the sample cloud with the components' ellipses and the mode
    /// occupancy, and no U(1) panel.
    func testMixtureReportHasItsPanels() throws {
        let run = dir.appendingPathComponent("gmm")
        let r = try CLI.run("l2hmc-run", ["--sampler", "hmc", "--target", "gmm", "--mixture-means=-2,0;2,0", "--mixture-variance", "0.1",
                                          "--eps", "0.15", "--nlf", "7", "--chains", "8", "--trajectories", "60", "--out", run.path, "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try CLI.run("l2hmc-run", ["report", run.path]).status, 0)
        let page = try String(contentsOf: run.appendingPathComponent("report.html"), encoding: .utf8)
        XCTAssertTrue(page.contains("Samples after thermalization (x0, x1)"))
        XCTAssertTrue(page.contains("density = 50 % of its maximum"))
        XCTAssertTrue(page.contains("Fraction of chains in each mode"))
        XCTAssertFalse(page.contains("Q_int"))
    }
}

extension RunReportCLITests {
    /// `report CROSSVAL.json`: the verdict, every check, the sampling-check and sensitivity plots;
    /// deterministic; a JSON file that is not a crossval report is a coded error.
    func testCrossvalReport() throws {
        let model = dir.appendingPathComponent("m.l2z").path, json = dir.appendingPathComponent("cv.json").path
        XCTAssertEqual(try CLI.run("l2hmc-convert", ["init-random", "--target", "u1", "--lattice", "4x4", "--nlf", "2", "--units", "8",
                                                     "--eps", "0.1", "--seed", "3", "--out", model]).status, 0)
        let cv = try CLI.run("l2hmc-run", ["crossval", model, "--chains", "8", "--trajectories", "40", "--nlf", "1,3", "--report", json])
        XCTAssertTrue([0, 1].contains(cv.status), cv.stderr)
        let r = try CLI.run("l2hmc-run", ["report", json])
        XCTAssertEqual(r.status, 0, r.stderr)
        let html = dir.appendingPathComponent("cv.html")
        let page = try String(contentsOf: html, encoding: .utf8)
        for text in ["l2hmc-run crossval report", "Verdict: ", "reversibility", "exactness: HMC", "Sampling checks", "Largest |z|", "Sensitivity to N_LF"] {
            XCTAssertTrue(page.contains(text), text)
        }
        XCTAssertFalse(page.contains("<script"))
        let again = dir.appendingPathComponent("again.html")
        XCTAssertEqual(try CLI.run("l2hmc-run", ["report", json, "-o", again.path]).status, 0)
        XCTAssertEqual(try Data(contentsOf: again), try Data(contentsOf: html))
        let bogus = dir.appendingPathComponent("x.json")
        try Data("{\"a\": 1}".utf8).write(to: bogus)
        let bad = try CLI.run("l2hmc-run", ["report", bogus.path])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.hasPrefix("error: [report.not_a_report]"), bad.stderr)
    }
}

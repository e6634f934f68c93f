import Foundation
import XCTest
import ModelFormat
import HDF5Kit
@testable import Trainer

/// `Checkpoint.read` validates every field before anything is computed: a table of damaged
/// checkpoints (rewritten with HDF5Kit from a good one), each refused with its code.
final class CheckpointValidationTests: XCTestCase {
    private var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-validation-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// The contents of a checkpoint, editable.
    struct Contents {
        var attributes: [String: HDF5Attribute]
        var datasets: [String: HDF5Array]
    }

    private func contents(_ path: String) throws -> Contents {
        let f = try HDF5File.open(path)
        defer { try? f.close() }
        var c = Contents(attributes: [:], datasets: [:])
        for name in try f.attributeNames("/") { c.attributes[name] = try f.readAttribute("/", name) }
        for o in try f.listObjects() where o.kind == .dataset { c.datasets[o.path] = try f.readDataset(o.path) }
        return c
    }

    private func write(_ c: Contents, to path: String) throws {
        let f = try HDF5File.create(path)
        for (k, v) in c.attributes.sorted(by: { $0.key < $1.key }) { try f.writeAttribute("/", k, v) }
        for (k, v) in c.datasets.sorted(by: { $0.key < $1.key }) { try f.writeDataset(k, v) }
        try f.close()
    }

    private static func doubles(_ a: HDF5Array, _ edit: (inout [Double]) -> Void, as dtype: HDF5DType? = nil, shape: [Int]? = nil) -> HDF5Array {
        var v = a.doubles
        edit(&v)
        let t = dtype ?? a.dtype
        let raw: [UInt8]
        switch t {
        case .float64: raw = v.withUnsafeBytes { Array($0) }
        case .float32: raw = v.map(Float.init).withUnsafeBytes { Array($0) }
        case .uint8: raw = v.map { UInt8(clamping: Int($0)) }
        default: raw = v.map { Int64($0) }.withUnsafeBytes { Array($0) }
        }
        return HDF5Array(dtype: t, shape: shape ?? a.shape, raw: raw)!
    }

    private func config(_ c: Contents) -> String {
        guard case let .string(s)? = c.attributes["config"] else { return "" }
        return s
    }

    func testEveryDamagedFieldIsRefusedWithItsCode() throws {
        var cfg = TrainingConfig()
        cfg.target = .gmm; cfg.nLF = 2; cfg.hiddenUnits = [4]; cfg.chains = 3; cfg.steps = 5
        let trainer = try L2HMCTrainer(config: cfg)
        trainer.trainStep(); trainer.trainStep()
        let good = dir.appendingPathComponent("good.h5").path
        try Checkpoint.write(trainer, to: good)
        let original = try contents(good)
        XCTAssertEqual(try Checkpoint.read(good).step, 2, "the undamaged checkpoint reads")

        typealias Edit = (inout Contents) -> Void
        let kernel = "/params/" + trainer.model.params.slices[0].name
        let cases: [(String, String, Edit)] = [
            ("config not JSON", "checkpoint.invalid_config", { $0.attributes["config"] = .string("{n_lf: 2") }),
            ("config unknown key", "checkpoint.invalid_config", { c in c.attributes["config"] = .string(self.config(c).replacingOccurrences(of: "\"n_lf\"", with: "\"nlf\"")) }),
            ("config n_lf 0", "checkpoint.invalid_config", { c in c.attributes["config"] = .string(self.config(c).replacingOccurrences(of: "\"n_lf\": 2", with: "\"n_lf\": 0")) }),
            ("config huge hidden units", "checkpoint.invalid_config", { c in c.attributes["config"] = .string(self.config(c).replacingOccurrences(of: "\"hidden_units\": [4]", with: "\"hidden_units\": [1073741824]")) }),
            ("config huge chains", "checkpoint.invalid_config", { c in c.attributes["config"] = .string(self.config(c).replacingOccurrences(of: "\"chains\": 3", with: "\"chains\": 4611686018427387904")) }),
            ("config with a different chain count", "checkpoint.wrong_shape", { c in c.attributes["config"] = .string(self.config(c).replacingOccurrences(of: "\"chains\": 3", with: "\"chains\": 5")) }),
            ("config not a string", "checkpoint.invalid", { $0.attributes["config"] = .int(3) }),
            ("missing config", "checkpoint.invalid", { $0.attributes["config"] = nil }),
            ("extra attribute", "checkpoint.invalid", { $0.attributes["note"] = .string("x") }),
            ("format version", "checkpoint.invalid", { $0.attributes["format_version"] = .string("2.0") }),
            ("negative step", "checkpoint.inconsistent", { $0.attributes["step"] = .int(-1); $0.attributes["adam_t"] = .int(-1) }),
            ("step past steps", "checkpoint.inconsistent", { $0.attributes["step"] = .int(6); $0.attributes["adam_t"] = .int(6) }),
            ("adam_t differs", "checkpoint.inconsistent", { $0.attributes["adam_t"] = .int(1) }),
            ("huge adam_t", "checkpoint.inconsistent", { $0.attributes["adam_t"] = .int(Int64.max) }),
            ("step a double", "checkpoint.invalid", { $0.attributes["step"] = .double(2) }),
            ("rng_state not a number", "checkpoint.invalid", { $0.attributes["rng_state"] = .string("-5") }),
            ("rng_state another stream", "checkpoint.invalid", { $0.attributes["rng_state"] = .string("counter:threefry") }),
            ("sampler differs", "checkpoint.inconsistent", { $0.attributes["sampler"] = .string("{}") }),
            ("missing chains", "checkpoint.missing_array", { $0.datasets["/chains"] = nil }),
            ("missing adam moment", "checkpoint.missing_array", { $0.datasets["/adam/v" + kernel.dropFirst("/params".count)] = nil }),
            ("extra dataset", "checkpoint.invalid", { $0.datasets["/params/extra"] = $0.datasets["/chains"] }),
            ("kernel float32", "checkpoint.wrong_dtype", { c in c.datasets[kernel] = Self.doubles(c.datasets[kernel]!, { _ in }, as: .float32) }),
            ("masks float64", "checkpoint.wrong_dtype", { c in c.datasets["/masks"] = Self.doubles(c.datasets["/masks"]!, { _ in }, as: .float64) }),
            ("kernel transposed", "checkpoint.wrong_shape", { c in c.datasets[kernel] = Self.doubles(c.datasets[kernel]!, { _ in }, shape: c.datasets[kernel]!.shape.reversed()) }),
            ("chains one row short", "checkpoint.wrong_shape", { c in c.datasets["/chains"] = Self.doubles(c.datasets["/chains"]!, { $0.removeLast(2) }, shape: [2, 2]) }),
            ("masks value 2", "checkpoint.bad_value", { c in c.datasets["/masks"] = Self.doubles(c.datasets["/masks"]!, { $0[1] = 2 }) }),
            ("NaN parameter", "checkpoint.non_finite", { c in c.datasets[kernel] = Self.doubles(c.datasets[kernel]!, { $0[0] = .nan }) }),
            ("infinite chain", "checkpoint.non_finite", { c in c.datasets["/chains"] = Self.doubles(c.datasets["/chains"]!, { $0[3] = -.infinity }) }),
            ("negative second moment", "checkpoint.bad_value", { c in
                let name = "/adam/v" + kernel.dropFirst("/params".count)
                c.datasets[name] = Self.doubles(c.datasets[name]!, { $0[0] = -1 }) }),
            ("huge log step size", "checkpoint.bad_value", { c in c.datasets["/params/log_eps_x"] = Self.doubles(c.datasets["/params/log_eps_x"]!, { $0[0] = 1000 }) }),
        ]
        for (name, code, edit) in cases {
            var c = original
            edit(&c)
            let path = dir.appendingPathComponent("bad.h5").path
            try? FileManager.default.removeItem(atPath: path)
            try write(c, to: path)
            let before = try Data(contentsOf: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try Checkpoint.read(path), name) { error in
                guard let f = error as? Checkpoint.Failure else { return XCTFail("\(name): \(error)") }
                XCTAssertEqual(f.code, code, "\(name): \(f)")
                XCTAssertFalse(f.description.contains("\n"), "\(name): one line")
            }
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), before, "\(name): reading does not modify the file")
        }
        // A directory and a non-HDF5 file are refused too.
        XCTAssertThrowsError(try Checkpoint.read(dir.path)) { XCTAssertEqual(($0 as? Checkpoint.Failure)?.code, "checkpoint.not_a_file") }
        let text = dir.appendingPathComponent("text.h5").path
        try Data("hello".utf8).write(to: URL(fileURLWithPath: text))
        XCTAssertThrowsError(try Checkpoint.read(text))
    }

    /// A checkpoint of an older version (rng_state: the decimal SplitMix64 state, a config
    /// without `tile`) still resumes: with this version's counter-based stream, flagged so the
    /// tool prints its note, and from then on it is written in this version's form.
    func testOlderVersionsCheckpointResumesWithTheCounterStream() throws {
        var cfg = TrainingConfig()
        cfg.target = .gmm; cfg.nLF = 2; cfg.hiddenUnits = [4]; cfg.chains = 3; cfg.steps = 5
        let trainer = try L2HMCTrainer(config: cfg)
        trainer.trainStep()
        let good = dir.appendingPathComponent("new.h5").path, old = dir.appendingPathComponent("old.h5").path
        try Checkpoint.write(trainer, to: good)
        var c = try contents(good)
        c.attributes["rng_state"] = .string("12345678901234567890")
        guard case var .object(o) = try StrictJSONParser.parse(Array(config(c).utf8)) else { return XCTFail("config is an object") }
        o["tile"] = nil
        c.attributes["config"] = .string(String(decoding: try CanonicalJSONWriter.encode(.object(o)), as: UTF8.self))
        XCTAssertFalse(config(c).contains("tile"), "the older config has no tile key")
        try write(c, to: old)
        XCTAssertFalse(try Checkpoint.read(good).resumedFromLegacyStream)
        let resumed = try Checkpoint.read(old)
        XCTAssertTrue(resumed.resumedFromLegacyStream)
        XCTAssertEqual(resumed.config, cfg, "a missing tile key is the default")
        resumed.trainStep(); trainer.trainStep()
        XCTAssertEqual(resumed.model.params.values, trainer.model.params.values, "it continues with the counter-based stream")
    }

    /// Control characters quoted from a file cannot start a new line in a message.
    func testMessagesEscapeControlCharacters() {
        let f = Checkpoint.Failure(code: "checkpoint.invalid", path: "a\nb", reason: "key \u{1b}[2J\nerror: [ok] all good")
        XCTAssertFalse(f.description.contains("\n"))
        XCTAssertFalse(f.description.contains("\u{1b}"))
        XCTAssertTrue(f.description.contains("a\\nb"), f.description)  // the newline shown as \n (UntrustedText)
    }

    /// Defaults: a time-based checkpoint every 120 s, no step-based one; both keys validated; the
    /// memory estimate refuses absurd sizes before anything is allocated.
    func testCheckpointDefaultsAndSizeLimits() throws {
        let c = TrainingConfig()
        XCTAssertEqual(c.checkpointSeconds, 120)
        XCTAssertEqual(c.checkpointEvery, 0)
        XCTAssertNoThrow(try c.validate())
        var t = c
        try t.set("checkpoint_seconds", text: "-1")
        XCTAssertThrowsError(try t.validate()) { XCTAssertEqual(($0 as? TrainingConfig.Invalid)?.key, "checkpoint_seconds") }
        for (key, value) in [("hidden_units", "[1048577]"), ("chains", "100000000"), ("n_lf", "2000000"), ("lattice", "[4096, 4096]")] {
            var big = TrainingConfig()
            try big.set(key, text: value)
            XCTAssertThrowsError(try big.validate(), "\(key) \(value)")
        }
        // The estimate of the default configuration: 8 bytes x (4 x parameters + activations +
        // one gradient per tile (64 chains / 16 = 4 tiles) + 8 x chain states); exact by the
        // formula in TrainingConfig.estimatedBytes.
        let n = 128.0, input = 2 * n + 2
        let perNet = input * 64 + 3 * n * 64 + 128 + 3 * n + 64 * 64
        let expected = 8 * (4 * 2 * perNet + 64 * 4 * 4 * (input + 128 + 3 * n) * 4 + 4 * 2 * perNet + 8 * 64 * n)
        XCTAssertEqual(c.estimatedBytes, expected)
        XCTAssertLessThan(c.estimatedBytes, 1e8)
    }
}

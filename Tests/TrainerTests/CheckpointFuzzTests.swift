import Foundation
import XCTest
import ModelFormat
import HDF5Kit
@testable import Trainer

/// A bounded, seeded structural fuzzer for checkpoints: random edits of attributes, of the
/// configuration's keys and of datasets' dtypes, shapes and values, each rewritten with HDF5Kit.
/// Every case must either read (and then train one step) or be refused with a coded error; a
/// crash or trap kills the test process. (Byte-level corruption of the HDF5 container itself is
/// HDF5Kit's fuzzer's business.) Set L2HMC_FUZZ_CASES for a longer run.
final class CheckpointFuzzTests: XCTestCase {
    func testRandomStructuralDamageIsReadOrRefusedNeverACrash() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var cfg = TrainingConfig()
        cfg.lattice = [2, 2]; cfg.nLF = 2; cfg.hiddenUnits = [4]; cfg.chains = 3; cfg.steps = 5
        let trainer = try L2HMCTrainer(config: cfg)
        trainer.trainStep()
        let good = dir.appendingPathComponent("good.h5").path
        try Checkpoint.write(trainer, to: good)
        let f = try HDF5File.open(good)
        var attributes: [String: HDF5Attribute] = [:]
        var datasets: [String: HDF5Array] = [:]
        for name in try f.attributeNames("/") { attributes[name] = try f.readAttribute("/", name) }
        for o in try f.listObjects() where o.kind == .dataset { datasets[o.path] = try f.readDataset(o.path) }
        try f.close()
        guard case let .string(configText)? = attributes["config"], case let .object(configObject) = try StrictJSONParser.parse(Array(configText.utf8)) else {
            return XCTFail("config attribute")
        }

        var rng = SplitMix64(seed: 9)
        func pick<T>(_ a: [T]) -> T { a[Int(rng.next() % UInt64(a.count))] }
        let ints: [Int64] = [-1, 0, 1, 2, 3, 5, 6, 7, 1 << 20, 1 << 31, Int64.max, Int64.min]
        let doubles: [Double] = [0, -1, 2, 1e308, -1e308, .nan, .infinity, 1e-300, 0.5]
        func randomJSON() -> JSONValue {
            pick([.int(pick(ints)), .double(pick(doubles.filter(\.isFinite))), .string(pick(["u1", "gmm", "x", "", "8x8", "relu"])), .bool(true),
                  .null, .array([.int(pick(ints))]), .array([]), .array([.array([.double(1)])]), .object([:])])
        }
        let cases = Int(ProcessInfo.processInfo.environment["L2HMC_FUZZ_CASES"] ?? "") ?? 200
        var read = 0, refused: [String: Int] = [:]
        let started = Date()
        for _ in 0..<cases {
            var a = attributes, d = datasets
            for _ in 0...(rng.next() % 2) {
                switch rng.next() % 8 {
                case 0: a[pick(Array(a.keys))] = pick([.int(pick(ints)), .double(pick(doubles)), .string("7"), .ints([1, 2]), .strings(["a"])])
                case 1:
                    var o = configObject
                    o[pick(Array(o.keys))] = randomJSON()
                    if rng.next() % 4 == 0 { o["unknown_key"] = .int(1) }
                    if let text = try? CanonicalJSONWriter.encode(.object(o)) { a["config"] = .string(String(decoding: text, as: UTF8.self)) }
                case 2: a.removeValue(forKey: pick(Array(a.keys)))
                case 3: d.removeValue(forKey: pick(Array(d.keys)))
                case 4:  // a value
                    let k = pick(Array(d.keys)), x = d[k]!
                    var v = x.doubles
                    if !v.isEmpty { v[Int(rng.next() % UInt64(v.count))] = pick(doubles) }
                    if x.dtype == .float64 { d[k] = HDF5Array(dtype: .float64, shape: x.shape, raw: v.withUnsafeBytes { Array($0) }) }
                    else { d[k] = HDF5Array(dtype: x.dtype, shape: x.shape, raw: v.map { $0.isFinite ? UInt8(clamping: Int(max(-1, min($0, 255)))) : 0 }) }
                case 5:  // a shape
                    let k = pick(Array(d.keys)), x = d[k]!
                    let shape = pick([[x.count], [1, x.count], x.shape.reversed(), [0]])
                    if let y = HDF5Array(dtype: x.dtype, shape: shape, raw: shape.reduce(1, *) == x.count ? x.raw : []) { d[k] = y }
                case 6:  // a dtype
                    let k = pick(Array(d.keys)), x = d[k]!
                    let v = x.doubles
                    let f32 = HDF5Array(dtype: .float32, shape: x.shape, raw: v.map(Float.init).withUnsafeBytes { Array($0) })
                    let i64 = HDF5Array(dtype: .int64, shape: x.shape, raw: v.map { $0.isFinite ? Int64(max(-1e18, min($0, 1e18))) : 0 }.withUnsafeBytes { Array($0) })
                    d[k] = rng.next() % 2 == 0 ? f32 : i64
                default: d["/params/extra"] = d["/chains"]
                }
            }
            let path = dir.appendingPathComponent("case.h5").path
            try? FileManager.default.removeItem(atPath: path)
            let w = try HDF5File.create(path)
            for (k, v) in a.sorted(by: { $0.key < $1.key }) { try w.writeAttribute("/", k, v) }
            for (k, v) in d.sorted(by: { $0.key < $1.key }) { try w.writeDataset(k, v) }
            try w.close()
            do {
                let t = try Checkpoint.read(path)
                if t.step < t.config.steps { t.trainStep() }
                read += 1
            } catch let e as Checkpoint.Failure {
                refused[e.code, default: 0] += 1
                XCTAssertFalse(e.description.contains("\n"))
            } catch let e as HDF5Error {
                refused[e.code, default: 0] += 1
            } catch {
                XCTFail("uncoded error: \(error)")
            }
        }
        XCTAssertGreaterThan(refused.values.reduce(0, +), cases / 2, "most random damage is refused")
        print("checkpoint fuzz: \(cases) cases, \(read) read, refused \(refused.sorted { $0.key < $1.key }), \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
    }
}

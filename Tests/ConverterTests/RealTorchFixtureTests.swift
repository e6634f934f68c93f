@testable import Converter
import Foundation
import XCTest

/// ``TorchCheckpoint`` on files written by real PyTorch and numpy
/// (fixtures/torch/make_real_torch_fixtures.py; versions in real-expected.json): every tensor,
/// scalar and skipped entry compared exactly with what PyTorch and numpy reported when they wrote
/// the file (values as Python reprs of `tensor.contiguous().flatten().tolist()`, parsed here by
/// Double(_:), which rounds correctly: the comparison is bit for bit, no tolerance).
final class RealTorchFixtureTests: XCTestCase {
    static func path(_ name: String) -> String { TorchCheckpointTests.path(name) }

    static func expected() throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path("real-expected.json")))
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    static func files() throws -> [String: [String: Any]] {
        try XCTUnwrap(try expected()["files"] as? [String: [String: Any]])
    }

    func check(_ file: String, _ e: [String: Any]) throws {
        let c = try TorchCheckpoint(path: Self.path(file))
        XCTAssertEqual(c.prefix, e["prefix"] as? String, file)
        let tensors = try XCTUnwrap(e["tensors"] as? [[String: Any]])
        XCTAssertEqual(c.tensors.map(\.path), tensors.map { $0["path"] as? String ?? "?" }, file)
        for (t, x) in zip(c.tensors, tensors) {
            let at = "\(file): \(t.path)"
            XCTAssertEqual(t.dtype.rawValue, x["dtype"] as? String, at)
            XCTAssertEqual(t.shape, x["shape"] as? [Int], at)
            XCTAssertEqual(t.stride, x["stride"] as? [Int], at)
            XCTAssertEqual(t.storageOffset, x["storage_offset"] as? Int, at)
            XCTAssertEqual(t.isParameter, x["parameter"] as? Bool, at)
            if let strings = x["values"] as? [String] {
                let values = strings.compactMap(Double.init)
                XCTAssertEqual(values.count, strings.count, at)
                XCTAssertEqual(t.values?.map(\.bitPattern), values.map(\.bitPattern), at)
            } else {
                XCTAssertNil(t.values, at)
            }
        }
        let scalars = try XCTUnwrap(e["scalars"] as? [[String]])
        XCTAssertEqual(c.scalars.map { [$0.path, $0.kind] }, scalars.map { Array($0.prefix(2)) }, file)
        for (s, x) in zip(c.scalars, scalars) {
            XCTAssertTrue(TorchCheckpointTests.scalar(s, matches: x[2]), "\(file): \(s) vs \(x)")
        }
        let skipped = try XCTUnwrap(e["skipped"] as? [[String]])
        XCTAssertEqual(c.skipped.map { [$0.path, $0.kind] }, skipped, file)
    }

    func testEveryRealFileMatchesPyTorch() throws {
        let files = try Self.files()
        XCTAssertGreaterThanOrEqual(files.count, 4)
        for (file, e) in files.sorted(by: { $0.key < $1.key }) { try check(file, e) }
    }

    /// The legacy format and a TorchScript archive, both written by real PyTorch, are refused
    /// with their codes.
    func testRealRefusals() throws {
        let refused = try XCTUnwrap(try Self.expected()["refused"] as? [String: String])
        XCTAssertEqual(refused.count, 2)
        for (file, code) in refused.sorted(by: { $0.key < $1.key }) {
            XCTAssertTrue(TorchCheckpoint.looksLikeTorch(path: Self.path(file)), file)
            XCTAssertThrowsError(try TorchCheckpoint(path: Self.path(file)), file) { error in
                XCTAssertEqual((error as? ConvertError)?.code, code, "\(file): \(error)")
            }
        }
    }

    /// A trainer's checkpoint dict: the model under model_state_dict (BatchNorm's
    /// num_batches_tracked an I64 scalar tensor, listed, not converted), the optimizer's state
    /// skipped (int keys), counters and losses as scalars (values written out by hand where the
    /// generator chose them: 0.03125, 30, 17, 3).
    func testTrainerCheckpoint() throws {
        let c = try TorchCheckpoint(path: Self.path("real-checkpoint.tar"))
        let nbt = try XCTUnwrap(c.tensors.first { $0.path == "model_state_dict.bn.num_batches_tracked" })
        XCTAssertEqual(nbt.dtype, .i64)
        XCTAssertEqual(nbt.shape, [])
        XCTAssertNil(nbt.values)
        XCTAssertTrue(c.tensors.contains { $0.path == "model_state_dict.scales.1" && $0.shape == [1, 2] })
        XCTAssertTrue(c.tensors.contains { $0.path == "model_state_dict.heads.v.weight" && $0.shape == [2, 4] })
        let byPath = Dictionary(uniqueKeysWithValues: c.scalars.map { ($0.path, $0) })
        XCTAssertEqual(byPath["best_loss"]?.value, .float(0.03125))
        XCTAssertEqual(byPath["global_step"]?.value, .int(30))
        XCTAssertEqual(byPath["accepts"]?.value, .int(17))
        XCTAssertEqual(byPath["epoch"]?.value, .int(3))
        XCTAssertEqual(byPath["lr"]?.value, .float(0.01))
        XCTAssertEqual(byPath["nan_seen"]?.value, .bool(false))
        XCTAssertEqual(byPath["loss"]?.kind, "numpy.float32")
        XCTAssertEqual(c.skipped.first { $0.path == "optimizer_state_dict.state" }?.kind, "dict with a non-string key")
        XCTAssertEqual(c.skipped.first { $0.path == "xeps" }?.kind, "numpy array (not interpreted)")
        // A list of numbers is read as scalars name.i (upstream's xeps/veps lists are cross-checked).
        XCTAssertEqual(byPath["eps_history.1"]?.value, .float(0.095))
        XCTAssertNil(c.skipped.first { $0.path == "eps_history" })
    }

    /// Views keep their strides and offsets; values were gathered through them (the transposed
    /// view of k/8 - 1, k = 0..11, as a 4x3 matrix: element [i][j] = (4j + i)/8 - 1).
    func testViews() throws {
        let c = try TorchCheckpoint(path: Self.path("real-views.pt"))
        let t = try XCTUnwrap(c.tensors.first { $0.path == "transposed" })
        XCTAssertEqual(t.stride, [1, 4])
        var hand: [Double] = []
        for i in 0..<4 { for j in 0..<3 { hand.append(Double(4 * j + i) / 8 - 1) } }
        XCTAssertEqual(t.values, hand)
        XCTAssertEqual(c.tensors.first { $0.path == "strided" }?.storageOffset, 6)
    }

    /// numpy 2 scalars through protocol 2's `_codecs.encode` payloads: the five decoded dtypes,
    /// written out by hand here as well (float32 1.5e-3 is 0x3AC49BA6; -(2^40) - 7; -123456).
    func testNumpyScalarsDecoded() throws {
        let c = try TorchCheckpoint(path: Self.path("real-numpy-scalars.pt"))
        let byPath = Dictionary(uniqueKeysWithValues: c.scalars.map { ($0.path, $0) })
        XCTAssertEqual(byPath["f64"]?.value, .float(0.1))
        XCTAssertEqual(byPath["f32"]?.value, .float(Double(Float(bitPattern: 0x3AC4_9BA6))))
        XCTAssertEqual(byPath["i64"]?.value, .int(-(1 << 40) - 7))
        XCTAssertEqual(byPath["i32"]?.value, .int(-123_456))
        XCTAssertEqual(byPath["yes"]?.value, .bool(true))
        XCTAssertEqual(byPath["no"]?.value, .bool(false))
        XCTAssertEqual(c.skipped.first { $0.path == "arange" }?.kind, "numpy array (not interpreted)")
    }

    /// The numpy 1.x spelling (numpy.core.multiarray, dtype flags 0/1) reads to the same scalars.
    func testNumpy1NamesReadTheSame() throws {
        let two = try TorchCheckpoint(path: Self.path("real-numpy-scalars.pt"))
        let one = try TorchCheckpoint(path: Self.path("real-numpy1-scalars.pt"))
        XCTAssertEqual(one.scalars, two.scalars)
        XCTAssertEqual(one.skipped, two.skipped)
    }

    /// `_rebuild_parameter_with_state` (an nn.Parameter with a Python attribute) is a parameter.
    func testParameterWithState() throws {
        let c = try TorchCheckpoint(path: Self.path("real-parameter-state.pt"))
        XCTAssertEqual(c.tensors.map(\.isParameter), [true, true])
        XCTAssertEqual(c.tensors.map(\.shape), [[3], [2, 2]])
    }

    /// The numpy names stay off the state-dict allowlist: only the checkpoint reader admits them.
    func testStateDictAllowlistUnchanged() throws {
        XCTAssertFalse(PickleAllowlist.stateDict.contains("numpy._core.multiarray.scalar"))
        XCTAssertTrue(PickleAllowlist.checkpoint.isSuperset(of: PickleAllowlist.stateDict))
        let zip = try ZipArchive(path: Self.path("real-numpy-scalars.pt"))
        let pickle = try zip.read("real-numpy-scalars/data.pkl", limit: 1 << 20)
        XCTAssertThrowsError(try PickleReader(allowlist: PickleAllowlist.stateDict).read(pickle)) { error in
            XCTAssertEqual((error as? ConvertError)?.code, "convert.pickle_global")
        }
        XCTAssertNoThrow(try PickleReader(allowlist: PickleAllowlist.checkpoint).read(pickle))
    }
}

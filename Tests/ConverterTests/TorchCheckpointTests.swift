@testable import Converter
import Foundation
import XCTest

/// ``TorchCheckpoint`` on archives laid out like torch.save's zip format
/// (fixtures/torch/make_torch_fixtures.py; stand-in torch modules; RealTorchFixtureTests reads
/// files written by real PyTorch): every
/// tensor's path, dtype, shape and values against expected.json, which the generator computed
/// from its Python lists through the strides (not from the archive); every hostile archive
/// refused with its code.
final class TorchCheckpointTests: XCTestCase {
    static func path(_ name: String) -> String { Fixtures.root.appendingPathComponent("fixtures/torch/\(name)").path }

    static func expected() throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path("expected.json")))
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func check(_ file: String) throws {
        let c = try TorchCheckpoint(path: Self.path(file))
        XCTAssertEqual(c.prefix, "archive")
        XCTAssertEqual(c.version, "3")
        let e = try XCTUnwrap(try Self.expected()[file] as? [String: Any])
        let tensors = try XCTUnwrap(e["tensors"] as? [[String: Any]])
        XCTAssertEqual(c.tensors.map(\.path), tensors.map { $0["path"] as? String ?? "?" })
        for (t, x) in zip(c.tensors, tensors) {
            XCTAssertEqual(t.dtype.rawValue, x["dtype"] as? String, t.path)
            XCTAssertEqual(t.shape, x["shape"] as? [Int], t.path)
            if let strings = x["values"] as? [String] {
                // Python reprs parsed by Double(_:) (correctly rounded; Foundation's JSON number
                // parsing is not always).
                let values = strings.compactMap(Double.init)
                XCTAssertEqual(values.count, strings.count)
                // Exact: every value is exactly representable in the storage dtype (multiples of
                // 1/8 in F32; F64 round-trips through JSON's shortest repr), and F32 -> Double is exact.
                XCTAssertEqual(t.values, values, t.path)
            } else {
                XCTAssertNil(t.values, t.path)
            }
        }
        let skipped = try XCTUnwrap(e["skipped"] as? [[String]])
        XCTAssertEqual(c.skipped.map { [$0.path, $0.kind] }, skipped)
        let scalars = try XCTUnwrap(e["scalars"] as? [[String]])
        XCTAssertEqual(c.scalars.map { [$0.path, $0.kind] }, scalars.map { Array($0.prefix(2)) })
        for (s, x) in zip(c.scalars, scalars) { XCTAssertTrue(Self.scalar(s, matches: x[2]), "\(s) vs \(x)") }
    }

    /// A scalar against the generator's value: a Python repr for numbers and bools (parsed, so
    /// the comparison is exact, bit for bit for floats), the string itself for `str`.
    static func scalar(_ s: TorchScalar, matches expected: String) -> Bool {
        switch s.value {
        case let .int(n): return Int64(expected) == n
        case let .bool(b): return expected == (b ? "True" : "False")
        case let .string(t): return t == expected
        case let .float(d):
            guard let e = Double(expected) else { return false }
            return e.bitPattern == d.bitPattern || (e.isNaN && d.isNaN)
        }
    }

    /// Contiguous, transposed view with a storage offset, two tensors sharing a storage, F64,
    /// an nn.Parameter, an I64 scalar (listed, not converted).
    func testBareStateDict() throws {
        try check("state-dict.pt")
        let c = try TorchCheckpoint(path: Self.path("state-dict.pt"))
        let view = try XCTUnwrap(c.tensors.first { $0.path == "view.t" })
        // view.t[i][j] = storage[1 + i + 3j], storage[k] = k + 0.125 (written out by hand).
        XCTAssertEqual(view.values, [1.125, 4.125, 2.125, 5.125, 3.125, 6.125])
        XCTAssertEqual(c.tensors.first { $0.path == "param.p" }?.isParameter, true)
    }

    /// model_state_dict descended with dotted paths; optimizer state and lists skipped; the int
    /// and the string read as scalars.
    func testCheckpointDict() throws {
        try check("checkpoint.tar")
    }

    func testHostileArchivesRefusedWithTheirCode() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.path("hostile.json")))
        let table = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: String])
        XCTAssertEqual(table.count, 10)
        for (file, code) in table.sorted(by: { $0.key < $1.key }) {
            XCTAssertTrue(TorchCheckpoint.looksLikeTorch(path: Self.path(file)), file)
            do {
                let c = try TorchCheckpoint(path: Self.path(file))
                XCTFail("\(file) was read: \(c.tensors.count) tensors")
            } catch let error as ConvertError {
                XCTAssertEqual(error.code, code, "\(file): \(error)")
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/tmp/l2hmc-torch-fixture-pwned"))
    }

    func testHalfAndBFloat16AreExact() {
        XCTAssertEqual(TorchDType.half(0x3C00), 1)
        XCTAssertEqual(TorchDType.half(0xC000), -2)
        XCTAssertEqual(TorchDType.half(0x0001), 0x1p-24)  // smallest subnormal
        XCTAssertEqual(TorchDType.half(0x7BFF), 65504)    // largest finite
        XCTAssertEqual(TorchDType.half(0x7C00), .infinity)
        XCTAssertTrue(TorchDType.half(0x7E00).isNaN)
        XCTAssertEqual(TorchDType.bf16.value([0x80, 0x3F], 0), 1)
        XCTAssertEqual(TorchDType.bf16.value([0x40, 0xC0], 0), -3)
        XCTAssertEqual(TorchDType.f16.value([0x00, 0x3C, 0x00, 0x40], 1), 2)
    }

    /// A zip that is not a checkpoint (no */data.pkl) is not taken for one by content.
    func testKerasArchiveIsNotTorch() throws {
        let keras = try FileManager.default.contentsOfDirectory(atPath: Fixtures.root.appendingPathComponent("fixtures/keras").path)
            .filter { $0.hasSuffix(".keras") }
        for k in keras.prefix(2) { XCTAssertFalse(TorchCheckpoint.looksLikeTorch(path: Fixtures.keras(k)), k) }
    }
}

import Foundation
import XCTest
@testable import ModelFormat

final class RoundTripTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("l2z-roundtrip-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// Extension arrays of every dtype and of scalar, empty, 1-D and 3-D shapes, with extreme values.
    static func extensionArrays() throws -> [String: NDArray] {
        var cube: [Double] = []
        for i in 0..<24 { cube.append(i % 5 == 0 ? Double.greatestFiniteMagnitude : Double(i) * 1e-300) }
        var out: [String: NDArray] = [:]
        out["ext.f64_scalar"] = try NDArray(shape: [], doubles: [-0.0])
        out["ext.f64_cube"] = try NDArray(shape: [2, 3, 4], doubles: cube)
        out["ext.f64_empty"] = try NDArray(shape: [0], doubles: [])
        out["ext.f64_empty2d"] = try NDArray(shape: [3, 0], doubles: [])
        out["ext.f32_vec"] = try NDArray(shape: [5], floats: [1.5, -Float.leastNonzeroMagnitude, Float.greatestFiniteMagnitude, 0, 3])
        out["ext.i64"] = try NDArray(shape: [3], int64s: [Int64.min, 0, Int64.max])
        out["ext.i32_mat"] = try NDArray(shape: [2, 2], int32s: [Int32.min, -1, 1, Int32.max])
        out["ext.u8"] = try NDArray(shape: [1, 1, 1, 3], uint8s: [0, 128, 255])
        out["ext.bools"] = try NDArray(shape: [4], bools: [true, false, false, true])
        return out
    }

    func testEveryLayoutAndDtypeRoundTrips() throws {
        let samplers = [
            TestModels.u1(), TestModels.u1(layout: .perStep, xNets: 2, xInput: .cosSinInterleaved, batchNorm: true),
            TestModels.u1(xInput: .raw, time: false, units: [3]), TestModels.mixture(),
        ]
        for (i, sampler) in samplers.enumerated() {
            var model = try TestModels.withProbe(sampler, seed: UInt64(i))
            for (k, v) in try Self.extensionArrays() { model.arrays[k] = v }
            model.provenance.training = ["steps": .int(100), "lr": .double(1e-3), "schedule": .array([.string("a"), .null])]
            model.provenance.sourceSHA256 = String(repeating: "ab", count: 32)
            model.extensions = ["x-note": .string("kept verbatim")]
            let path = directory.appendingPathComponent("m\(i).l2z").path
            try L2ZWriter.write(model, to: path)
            let back = try L2ZReader.read(path: path)
            XCTAssertEqual(back.model, model, "sampler \(i)")
            // Bytes equal, not merely values: -0.0 keeps its sign, every float bit pattern survives.
            for (name, a) in model.arrays { XCTAssertEqual(back.model.arrays[name]?.bytes, a.bytes, name) }
            XCTAssertTrue(back.dataOffsets.values.allSatisfy { $0 % 64 == 0 }, "array data must be 64-byte aligned")
            XCTAssertEqual(back.manifest.requiredFeatures, SamplerRules.requiredFeatures(of: sampler, probe: model.probe))
        }
    }

    func testRewriteIsByteIdentical() throws {
        let model = try TestModels.withProbe(TestModels.u1(layout: .perStep))
        let a = try L2ZWriter.encode(model)
        let b = try L2ZWriter.encode(try L2ZReader.read(bytes: a).model)
        XCTAssertEqual(a, b, "re-encoding a read model must reproduce the file byte for byte")
        // Two writes to disk give identical files too (no timestamps, no random temp names inside).
        let p1 = directory.appendingPathComponent("a.l2z").path, p2 = directory.appendingPathComponent("b.l2z").path
        try L2ZWriter.write(model, to: p1); try L2ZWriter.write(model, to: p2)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: p1)), try Data(contentsOf: URL(fileURLWithPath: p2)))
        // A different seed changes the bytes (the comparison above can fail).
        XCTAssertNotEqual(a, try L2ZWriter.encode(try TestModels.withProbe(TestModels.u1(layout: .perStep), seed: 99)))
    }

    func testFirstBytesIdentifyTheFormat() throws {
        let bytes = try L2ZWriter.encode(try RandomModel.make(sampler: TestModels.u1(), seed: 1))
        XCTAssertEqual(Array(bytes[0..<4]), [0x50, 0x4B, 0x03, 0x04])
        XCTAssertEqual(String(decoding: bytes[30..<39], as: UTF8.self), "l2z.magic")
        XCTAssertEqual(String(decoding: bytes[39..<55], as: UTF8.self), "l2hmc-l2z-model\n")
    }

    func testNpyHeaderMatchesNumpyConvention() throws {
        let a = try NDArray(shape: [2, 3], doubles: [1, 2, 3, 4, 5, 6])
        let bytes = NpyCodec.encode(a)
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        XCTAssertEqual((10 + headerLength) % 64, 0)
        let header = String(decoding: bytes[10..<(10 + headerLength)], as: UTF8.self)
        XCTAssertTrue(header.hasPrefix("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }"), header)
        let vector = NpyCodec.encode(try NDArray(shape: [7], int32s: Array(repeating: 1, count: 7)))
        XCTAssertTrue(String(decoding: vector[10..<64], as: UTF8.self).contains("'shape': (7,)"), "1-D shapes are written (n,)")
        XCTAssertEqual(try NpyCodec.decode(bytes, name: "t", limits: ReadLimits()), a)
    }

    func testInspectionFlagsAllZeroTrainedParameters() throws {
        var model = try RandomModel.make(sampler: TestModels.u1(), seed: 4)
        XCTAssertTrue(ModelInspection(model: model).warnings.isEmpty, "random weights are never exactly zero")
        model.arrays["vnet.0.x_layer.bias"] = try NDArray(shape: [5], doubles: [0, 0, 0, 0, 0])
        model.arrays["xnet.0.scale.coeff"] = try NDArray(shape: [12], doubles: Array(repeating: 0, count: 12))
        let warnings = ModelInspection(model: model).warnings
        XCTAssertEqual(warnings.count, 1, "\(warnings)")  // the coefficient starts at zero by design
        XCTAssertTrue(warnings[0].hasPrefix("vnet.0.x_layer.bias is exactly all zero"))
    }
}

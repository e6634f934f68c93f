import Foundation
import XCTest
@testable import HDF5Kit

/// h5py (HDF5 2.x, an independent implementation of the reading side) agrees with HDF5Kit in both
/// directions. h5py is required: scripts/setup.sh installs it; without it these tests fail.
final class H5pyInteropTests: XCTestCase {
    var scratch: ScratchDirectory!

    override func setUpWithError() throws {
        scratch = try ScratchDirectory()
        try requireH5py()
    }

    override func tearDown() { scratch.cleanUp() }

    // MARK: h5py reads what HDF5Kit writes

    /// Prints, as JSON, every object of the file: datasets with numpy dtype, shape and values;
    /// attributes with value and, for strings, h5py's view of their storage (length None = vlen).
    /// Numbers are printed as Python literals (str/repr) so that they compare exactly.
    static let dumpScript = #"""
    import json, sys
    import h5py, numpy as np

    def number(v):
        v = v.item() if hasattr(v, "item") else v
        return repr(float(v)) if isinstance(v, float) else str(int(v))

    def attribute(attrs, name):
        value = attrs[name]
        dt = attrs.get_id(name).dtype
        info = h5py.check_string_dtype(dt)
        out = {"numpy": dt.str, "shape": list(attrs.get_id(name).shape)}
        if info is not None:
            out["string"] = {"encoding": info.encoding, "length": info.length}
            items = value.tolist() if isinstance(value, np.ndarray) else value
            decode = lambda s: s.decode("utf-8") if isinstance(s, bytes) else s
            out["value"] = [decode(s) for s in items] if isinstance(items, list) else decode(items)
        else:
            arr = np.asarray(value)
            out["value"] = [number(v) for v in arr.ravel()] if arr.ndim else number(arr)
        return out

    report = {}
    def visit(name, obj):
        entry = {"attrs": {k: attribute(obj.attrs, k) for k in obj.attrs}}
        if isinstance(obj, h5py.Dataset):
            entry["kind"] = "dataset"
            entry["numpy"] = obj.dtype.str
            entry["shape"] = list(obj.shape)
            entry["values"] = [number(v) for v in np.asarray(obj[()]).ravel()]
        else:
            entry["kind"] = "group"
        report["/" + name] = entry
    with h5py.File(sys.argv[1], "r") as f:
        visit("", f)
        f.visititems(visit)
    print(json.dumps(report))
    """#

    func testH5pyReadsWhatHDF5KitWrites() throws {
        let path = scratch.file("ours.h5")
        let numpyNames: [HDF5DType: String] = [
            .float64: "<f8", .float32: "<f4", .int64: "<i8", .int32: "<i4", .int16: "<i2", .int8: "|i1",
            .uint64: "<u8", .uint32: "<u4", .uint16: "<u2", .uint8: "|u1", .bool: "|b1",
        ]
        var written: [String: (HDF5DType, [Int], [Double])] = [:]
        let attributes: [String: HDF5Attribute] = [
            "backend": .string("tensorflow"),
            "unicode": .string("φ ∈ [-π, π)"),
            "layer_names": .strings(["dense", "dense_1"]),
            "no_names": .strings([]),
            "beta": .double(4.5),
            "betas": .doubles([2, 0.1, -3.25]),
            "step": .int(-9_000_000_000_000_000_000),
            "dims": .ints([8, 8, 2]),
        ]
        do {
            let file = try HDF5File.create(path)
            for dtype in HDF5DType.allCases {
                for shape in [[], [0], [2, 3]] as [[Int]] {
                    let name = "/typed/\(dtype.rawValue)/r\(shape.count)_\(shape.reduce(1, *))"
                    let values = RoundTripTests.values(HDF5Array.elementCount(shape)!, for: dtype)
                    try file.writeDataset(name, shape: shape, doubles: values, as: dtype)
                    written[name] = (dtype, shape, values)
                }
            }
            try file.writeDataset("/dense/dense/kernel:0", shape: [2, 2], floats: [1, -2, 0.5, 3])
            for (name, value) in attributes {
                try file.writeAttribute("/", name, value)
                try file.writeAttribute("/dense", name, value)
                try file.writeAttribute("/dense/dense/kernel:0", name, value)
            }
            try file.close()
        }

        let output = try runH5pyScript(Self.dumpScript, arguments: [path])
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: [String: Any]])

        // h5py sees exactly our objects.
        let ours = try HDF5File.open(path).listObjects().map(\.path) + ["/"]
        XCTAssertEqual(Set(report.keys), Set(ours))

        for (name, (dtype, shape, values)) in written {
            let seen = try XCTUnwrap(report[name], name)
            XCTAssertEqual(seen["kind"] as? String, "dataset", name)
            XCTAssertEqual(seen["numpy"] as? String, numpyNames[dtype], name)
            XCTAssertEqual(seen["shape"] as? [Int], shape, name)
            let seenValues = try XCTUnwrap(seen["values"] as? [String], name)
            XCTAssertEqual(seenValues.count, values.count, name)
            for (index, (text, want)) in zip(seenValues, values).enumerated() {
                if dtype.isFloatingPoint {
                    let expected = dtype == .float32 ? Double(Float(want)) : want
                    XCTAssertEqual(Double(text)?.bitPattern, expected.bitPattern, "\(name)[\(index)] h5py read \(text)")
                } else if dtype == .uint64 {
                    XCTAssertEqual(UInt64(text), UInt64(want), "\(name)[\(index)]")
                } else {
                    XCTAssertEqual(Int64(text), Int64(want), "\(name)[\(index)]")
                }
            }
        }

        for object in ["/", "/dense", "/dense/dense/kernel:0"] {
            let attrs = try XCTUnwrap(report[object]?["attrs"] as? [String: [String: Any]], object)
            XCTAssertEqual(Set(attrs.keys), Set(attributes.keys), object)
            for (name, value) in attributes {
                let seen = try XCTUnwrap(attrs[name], "\(object)@\(name)")
                let label = "\(object)@\(name)"
                switch value {
                case let .string(text):
                    XCTAssertEqual(seen["value"] as? String, text, label)
                    XCTAssertEqual(seen["shape"] as? [Int], [], label)
                    assertVariableLengthUTF8(seen, label)
                case let .strings(texts):
                    XCTAssertEqual(seen["value"] as? [String], texts, label)
                    XCTAssertEqual(seen["shape"] as? [Int], [texts.count], label)
                    assertVariableLengthUTF8(seen, label)
                case let .double(number):
                    XCTAssertEqual(seen["numpy"] as? String, "<f8", label)
                    XCTAssertEqual((seen["value"] as? String).flatMap(Double.init), number, label)
                case let .doubles(numbers):
                    XCTAssertEqual(seen["numpy"] as? String, "<f8", label)
                    XCTAssertEqual((seen["value"] as? [String])?.compactMap(Double.init), numbers, label)
                case let .int(number):
                    XCTAssertEqual(seen["numpy"] as? String, "<i8", label)
                    XCTAssertEqual((seen["value"] as? String).flatMap { Int64($0) }, number, label)
                case let .ints(numbers):
                    XCTAssertEqual(seen["numpy"] as? String, "<i8", label)
                    XCTAssertEqual((seen["value"] as? [String])?.compactMap { Int64($0) }, numbers, label)
                }
            }
        }
    }

    private func assertVariableLengthUTF8(_ seen: [String: Any], _ label: String, line: UInt = #line) {
        let info = seen["string"] as? [String: Any]
        XCTAssertEqual(info?["encoding"] as? String, "utf-8", "\(label) is UTF-8", line: line)
        XCTAssertTrue(info?["length"] is NSNull, "\(label) is variable-length: \(String(describing: info))", line: line)
    }

    // MARK: HDF5Kit reads what h5py writes

    /// A tf-keras 2.x `save_weights` layout (root `layer_names` as a fixed-length byte-string
    /// array, `backend` fixed-length, `keras_version` variable-length, one group per layer with
    /// `weight_names`, an empty float64 `weight_names` for a layer without weights), the same tree
    /// under `model_weights` as `model.save` writes it, plus the less common storage h5py can
    /// produce: big-endian data, gzip chunks, booleans, strings, compound data, `Empty`.
    static let kerasLikeScript = #"""
    import sys
    import h5py, numpy as np
    kernel = (np.arange(6, dtype="float32").reshape(2, 3) - 2.5) / 7
    bias = np.array([0.5, -0.25, 1.0], dtype="float32")
    kernel1 = np.linspace(-1, 1, 3 * 4, dtype="float32").reshape(3, 4)
    bias1 = np.zeros(4, dtype="float32")

    def weights(root):
        root.attrs["layer_names"] = np.array([b"dense", b"dense_1", b"flatten"], dtype="S7")
        root.attrs["backend"] = np.bytes_(b"tensorflow")
        root.attrs["keras_version"] = "2.15.0"
        for layer, k, b in (("dense", kernel, bias), ("dense_1", kernel1, bias1)):
            g = root.create_group(layer)
            g.attrs["weight_names"] = np.array([f"{layer}/kernel:0".encode(), f"{layer}/bias:0".encode()])
            g.create_dataset(f"{layer}/kernel:0", data=k)
            g.create_dataset(f"{layer}/bias:0", data=b)
        g = root.create_group("flatten")
        g.attrs["weight_names"] = np.array([])

    with h5py.File(sys.argv[1], "w") as f:
        weights(f)
        weights(f.create_group("model_weights"))
        f.attrs["model_config"] = '{"class_name": "Sequential"}'.encode()
        x = f.create_group("extras")
        x.create_dataset("big_endian", data=np.array([[1.5, -2.0], [3.25, 1e-30]], dtype=">f8"))
        x.create_dataset("big_endian_i4", data=np.array([1, -2, 70000], dtype=">i4"))
        x.create_dataset("gzip", data=np.arange(1000, dtype="<i2"), chunks=(100,), compression="gzip")
        x.create_dataset("bools", data=np.array([True, False, True]))
        x.create_dataset("u8", data=np.array([255, 0], dtype="u8"))
        x.create_dataset("scalar", data=np.float32(2.5))
        x.create_dataset("empty", data=np.zeros((0, 3), dtype="f4"))
        x.create_dataset("strings", data=np.array([b"a", b"bc"]))
        x.create_dataset("compound", data=np.zeros(2, dtype=[("a", "f4"), ("b", "i4")]))
        x.create_dataset("half", data=np.ones(2, dtype="f2"))
        x.attrs["utf8_fixed"] = np.array("φ-ok".encode(), dtype=h5py.string_dtype("utf-8", 8))
        x.attrs["vlen_list"] = np.array(["x", "yz"], dtype=h5py.string_dtype())
        x.attrs["f32"] = np.float32(1.5)
        x.attrs["i16s"] = np.array([-3, 4], dtype="i2")
        x.attrs["u64_big"] = np.uint64(2**63 + 1)
        x.attrs["bool"] = np.bool_(True)
        x.attrs["matrix"] = np.ones((2, 2))
        x.attrs["nothing"] = h5py.Empty("f8")
        x["soft"] = h5py.SoftLink("/dense")
    """#

    func testHDF5KitReadsKerasLikeFileFromH5py() throws {
        let path = scratch.file("keras-like.h5")
        _ = try runH5pyScript(Self.kerasLikeScript, arguments: [path])
        let file = try HDF5File.open(path)
        defer { try? file.close() }

        let kernel: [Float] = (0 ..< 6).map { (Float($0) - 2.5) / 7 }
        for root in ["/", "/model_weights"] {
            XCTAssertEqual(try file.readAttribute(root, "layer_names"), .strings(["dense", "dense_1", "flatten"]), root)
            XCTAssertEqual(try file.readAttribute(root, "backend"), .string("tensorflow"), root)
            XCTAssertEqual(try file.readAttribute(root, "keras_version"), .string("2.15.0"), root)
            let prefix = root == "/" ? "" : root
            XCTAssertEqual(try file.readAttribute("\(prefix)/dense", "weight_names"),
                           .strings(["dense/kernel:0", "dense/bias:0"]))
            let empty = try file.readAttribute("\(prefix)/flatten", "weight_names")
            XCTAssertEqual(empty, .doubles([]), "Keras' empty weight_names is an empty float64 array")
            XCTAssertEqual(empty.stringList, [])

            // Weight names resolve to datasets, ':' and all.
            let names = try XCTUnwrap(file.readAttribute("\(prefix)/dense", "weight_names").stringList)
            let k = try file.readDataset("\(prefix)/dense/\(names[0])")
            XCTAssertEqual(k.dtype, .float32)
            XCTAssertEqual(k.shape, [2, 3])
            XCTAssertEqual(k.floats, kernel)
            XCTAssertEqual(try file.readDataset("\(prefix)/dense/\(names[1])").floats, [0.5, -0.25, 1.0])
            XCTAssertEqual(try file.readDataset("\(prefix)/dense_1/dense_1/kernel:0").shape, [3, 4])
            XCTAssertEqual(try file.readDataset("\(prefix)/dense_1/dense_1/bias:0").doubles, [0, 0, 0, 0])
        }
        XCTAssertEqual(try file.readAttribute("/", "model_config"), .string(#"{"class_name": "Sequential"}"#))
        XCTAssertEqual(try file.attributeNames("/"), ["backend", "keras_version", "layer_names", "model_config"])

        // Listing: every group and dataset, soft link not followed, unsupported types described.
        let listing = try file.listObjects()
        XCTAssertEqual(listing.filter { $0.path == "/dense" || $0.path.hasPrefix("/dense/") }.map(\.path),
                       ["/dense", "/dense/dense", "/dense/dense/bias:0", "/dense/dense/kernel:0"])
        XCTAssertEqual(listing.first { $0.path == "/model_weights/dense_1/dense_1/kernel:0" }?.shape, [3, 4])
        XCTAssertFalse(listing.contains { $0.path.hasPrefix("/extras/soft") })
        XCTAssertTrue(file.exists("/extras/soft"), "a soft link to a group exists")
        let strings = try XCTUnwrap(listing.first { $0.path == "/extras/strings" })
        XCTAssertNil(strings.dtype)
        XCTAssertEqual(strings.typeDescription, "fixed-length string (2 bytes)")
        XCTAssertEqual(listing.filter { $0.kind == .dataset }.count, 8 + 10)

        // Storage h5py can produce.
        let bigEndian = try file.readDataset("/extras/big_endian")
        XCTAssertEqual(bigEndian.dtype, .float64)
        XCTAssertEqual(bigEndian.doubles, [1.5, -2.0, 3.25, 1e-30])
        XCTAssertEqual(try file.readDataset("/extras/big_endian_i4").int64s, [1, -2, 70000])
        let gzip = try file.readDataset("/extras/gzip")
        XCTAssertEqual(gzip.dtype, .int16)
        XCTAssertEqual(gzip.int64s, (0 ..< 1000).map(Int64.init))
        let bools = try file.readDataset("/extras/bools")
        XCTAssertEqual(bools.dtype, .bool)
        XCTAssertEqual(bools.raw, [1, 0, 1])
        XCTAssertEqual(try file.readDataset("/extras/u8").dtype, .uint64)
        XCTAssertEqual(try file.readDataset("/extras/scalar").shape, [])
        XCTAssertEqual(try file.readDataset("/extras/scalar").doubles, [2.5])
        XCTAssertEqual(try file.readDataset("/extras/empty").shape, [0, 3])
        XCTAssertEqual(try file.readDataset("/extras/empty").count, 0)
        for refused in ["strings", "compound", "half"] {
            let error = assertHDF5Error("hdf5.unsupported_dtype", try file.readDataset("/extras/\(refused)"))
            XCTAssertTrue(error?.description.contains("/extras/\(refused)") ?? false, "\(String(describing: error))")
        }

        XCTAssertEqual(try file.readAttribute("/extras", "utf8_fixed"), .string("φ-ok"))
        XCTAssertEqual(try file.readAttribute("/extras", "vlen_list"), .strings(["x", "yz"]))
        XCTAssertEqual(try file.readAttribute("/extras", "f32"), .double(1.5))
        XCTAssertEqual(try file.readAttribute("/extras", "i16s"), .ints([-3, 4]))
        XCTAssertEqual(try file.readAttribute("/extras", "bool"), .int(1))
        XCTAssertEqual(try file.readAttribute("/extras", "nothing"), .doubles([]))
        assertHDF5Error("hdf5.unsupported_dtype", try file.readAttribute("/extras", "u64_big"))
        assertHDF5Error("hdf5.unsupported_dtype", try file.readAttribute("/extras", "matrix"))
        XCTAssertEqual(file.openObjectCount, 1, "no handle leaks, also after refusals")
    }
}

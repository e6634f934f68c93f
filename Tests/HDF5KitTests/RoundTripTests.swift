import Foundation
import XCTest
@testable import HDF5Kit

/// What HDF5Kit writes, HDF5Kit reads back unchanged: every dtype and shape, groups, attributes.
final class RoundTripTests: XCTestCase {
    var scratch: ScratchDirectory!

    override func setUpWithError() throws { scratch = try ScratchDirectory() }
    override func tearDown() { scratch.cleanUp() }

    static let shapes: [[Int]] = [[], [0], [1], [5], [2, 3], [2, 0, 3], [2, 3, 4]]

    /// Values every integer dtype can hold exactly, and their count-matched slices.
    static func values(_ count: Int, for dtype: HDF5DType) -> [Double] {
        let pool: [Double]
        switch dtype {
        case .float64: pool = [0.1, -2.5e-300, 1e300, -0.0, .infinity, -.infinity, 3.141592653589793]
        case .float32: pool = [0.5, -1.25, 3e38, -7.0, 1.0 / 1024]
        case .int64: pool = [-9_007_199_254_740_992, 9_007_199_254_740_992, 0, -1, 42]
        case .int32: pool = [-2_147_483_648, 2_147_483_647, 0, -3]
        case .int16: pool = [-32768, 32767, 1, -2]
        case .int8: pool = [-128, 127, 0, -1]
        case .uint64: pool = [18_446_744_073_709_549_568, 0, 7]
        case .uint32: pool = [4_294_967_295, 0, 9]
        case .uint16: pool = [65535, 0, 3]
        case .uint8: pool = [255, 0, 128]
        case .bool: pool = [1, 0, 0, 1, 1]
        }
        return (0 ..< count).map { pool[$0 % pool.count] }
    }

    func testEveryDTypeAndShapeRoundTrips() throws {
        let path = scratch.file("dtypes.h5")
        var expected: [String: (HDF5DType, [Int], [Double])] = [:]
        do {
            let file = try HDF5File.create(path)
            for dtype in HDF5DType.allCases {
                for shape in Self.shapes {
                    let name = "/\(dtype.rawValue)/shape_\(shape.map(String.init).joined(separator: "x"))"
                    let values = Self.values(HDF5Array.elementCount(shape)!, for: dtype)
                    try file.writeDataset(name, shape: shape, doubles: values, as: dtype)
                    expected[name] = (dtype, shape, values)
                }
            }
            XCTAssertEqual(file.openObjectCount, 1, "handles leaked while writing")
            try file.close()
        }
        let file = try HDF5File.open(path)
        defer { try? file.close() }
        for (name, (dtype, shape, values)) in expected {
            let array = try file.readDataset(name)
            XCTAssertEqual(array.dtype, dtype, name)
            XCTAssertEqual(array.shape, shape, name)
            XCTAssertEqual(array.count, values.count, name)
            XCTAssertEqual(array.raw.count, values.count * dtype.byteSize, name)
            let read = array.doubles
            for (index, (got, want)) in zip(read, values).enumerated() {
                let wanted = dtype == .float32 ? Double(Float(want)) : want
                XCTAssertEqual(got.bitPattern, wanted.bitPattern, "\(name)[\(index)]: \(got) != \(wanted)")
            }
            if !dtype.isFloatingPoint, dtype != .uint64 {
                XCTAssertEqual(array.int64s, values.map { Int64($0) }, name)
            }
        }
        XCTAssertEqual(file.openObjectCount, 1, "handles leaked while reading")
    }

    func testTypedWritersAreExact() throws {
        let path = scratch.file("typed.h5")
        let floats: [Float] = [.pi, -.leastNonzeroMagnitude, .greatestFiniteMagnitude, .nan]
        let int64s: [Int64] = [.min, .max, 0, -1, 9_007_199_254_740_993]
        let int32s: [Int32] = [.min, .max, 7]
        let uint8s: [UInt8] = [0, 255, 17, 3]
        do {
            let file = try HDF5File.create(path)
            try file.writeDataset("f32", shape: [2, 2], floats: floats)
            try file.writeDataset("i64", shape: [5], int64s: int64s)
            try file.writeDataset("i32", shape: [3], int32s: int32s)
            try file.writeDataset("u8", shape: [2, 2], uint8s: uint8s)
            try file.writeDataset("b", shape: [3], bools: [true, false, true])
            try file.close()
        }
        let file = try HDF5File.open(path)
        let f32 = try file.readDataset("f32")
        XCTAssertEqual(f32.dtype, .float32)
        XCTAssertEqual(f32.floats.map(\.bitPattern), floats.map(\.bitPattern))
        XCTAssertEqual(try file.readDataset("i64").int64s, int64s, "int64 extremes survive exactly")
        XCTAssertEqual(try file.readDataset("i32").int64s, int32s.map(Int64.init))
        XCTAssertEqual(try file.readDataset("u8").raw, uint8s)
        let bools = try file.readDataset("b")
        XCTAssertEqual(bools.dtype, .bool)
        XCTAssertEqual(bools.raw, [1, 0, 1])

        // Copying an array keeps type and bytes.
        let copyPath = scratch.file("copy.h5")
        let copy = try HDF5File.create(copyPath)
        try copy.writeDataset("/x/y", try file.readDataset("i64"))
        try copy.close()
        XCTAssertEqual(try HDF5File.open(copyPath).readDataset("/x/y"), try file.readDataset("i64"))
    }

    func testNestedGroupsListingAndExists() throws {
        let path = scratch.file("tree.h5")
        do {
            let file = try HDF5File.create(path)
            try file.writeDataset("model_weights/dense/dense/kernel:0", shape: [2, 3], doubles: Array(repeating: 1, count: 6), as: .float32)
            try file.writeDataset("model_weights/dense/dense/bias:0", shape: [3], doubles: [0, 0, 0], as: .float32)
            try file.createGroup("/model_weights/flatten")
            try file.createGroup("/model_weights/flatten")  // idempotent
            try file.createGroup("a/b/c")
            try file.writeDataset("/a.b", shape: [], doubles: [1])
            try file.writeDataset("/a/z", shape: [2], int64s: [1, 2])
            try file.close()
        }
        let file = try HDF5File.open(path)
        let listing = try file.listObjects()
        XCTAssertEqual(listing.map(\.path), [
            "/a", "/a/b", "/a/b/c", "/a/z", "/a.b",
            "/model_weights", "/model_weights/dense", "/model_weights/dense/dense",
            "/model_weights/dense/dense/bias:0", "/model_weights/dense/dense/kernel:0", "/model_weights/flatten",
        ])
        let kernel = try XCTUnwrap(listing.first { $0.path.hasSuffix("kernel:0") })
        XCTAssertEqual(kernel, HDF5Object(path: "/model_weights/dense/dense/kernel:0", kind: .dataset,
                                          shape: [2, 3], dtype: .float32, typeDescription: "float32"))
        XCTAssertEqual(listing.first { $0.path == "/a.b" }?.shape, [])
        XCTAssertEqual(listing.first { $0.path == "/a/b" }, HDF5Object(path: "/a/b", kind: .group))
        XCTAssertEqual(try file.info("model_weights//dense/dense/kernel:0"), kernel, "paths are normalized")

        XCTAssertTrue(file.exists("/"))
        XCTAssertTrue(file.exists("a/b/c"))
        XCTAssertTrue(file.exists("/model_weights/dense/dense/kernel:0"))
        XCTAssertFalse(file.exists("/model_weights/dense/dense/kernel:1"))
        XCTAssertFalse(file.exists("/nope/deeper/still"))
        XCTAssertFalse(file.exists("/a/z/inside_a_dataset"))
        XCTAssertFalse(file.exists(""))

        assertHDF5Error("hdf5.wrong_type", try file.readDataset("/a/b"))
        assertHDF5Error("hdf5.not_found", try file.readDataset("/a/missing"))
        XCTAssertEqual(try? file.readDataset("/a/missing"), nil)
        do {
            _ = try file.readDataset("model_weights/dense")
        } catch let error as HDF5Error {
            XCTAssertEqual(error, .wrongType(object: "/model_weights/dense", expected: "dataset", actual: "group"))
            XCTAssertTrue(error.description.contains("/model_weights/dense"), error.description)
        }
        XCTAssertEqual(file.openObjectCount, 1)
    }

    func testEveryAttributeKindRoundTrips() throws {
        let path = scratch.file("attrs.h5")
        let attributes: [String: HDF5Attribute] = [
            "string": .string("tensorflow"),
            "empty_string": .string(""),
            "unicode": .string("β = 5, φ ∈ [-π, π) 🙂"),
            "strings": .strings(["dense", "dense_1", "x_layer/kernel:0"]),
            "one_string": .strings(["only"]),
            "no_strings": .strings([]),
            "double": .double(-0.125),
            "doubles": .doubles([1, 2.5, -1e-300, .infinity]),
            "no_doubles": .doubles([]),
            "int": .int(.min),
            "ints": .ints([.max, 0, -7]),
            "no_ints": .ints([]),
        ]
        do {
            let file = try HDF5File.create(path)
            try file.createGroup("/layer:0")
            try file.writeDataset("/layer:0/w:0", shape: [1], doubles: [1])
            for object in ["/", "/layer:0", "/layer:0/w:0"] {
                for (name, value) in attributes { try file.writeAttribute(object, name, value) }
            }
            // Replacing an attribute changes its type and value.
            try file.writeAttribute("/", "int", .strings(["replaced"]))
            try file.writeAttribute("/", "int", .int(.min))
            XCTAssertEqual(file.openObjectCount, 1)
            try file.close()
        }
        let file = try HDF5File.open(path)
        for object in ["/", "/layer:0", "/layer:0/w:0"] {
            XCTAssertEqual(try file.attributeNames(object), attributes.keys.sorted(), object)
            for (name, value) in attributes {
                XCTAssertEqual(try file.readAttribute(object, name), value, "\(object)@\(name)")
            }
        }
        XCTAssertEqual(HDF5Attribute.doubles([]).stringList, [])
        XCTAssertEqual(HDF5Attribute.string("a").stringList, ["a"])
        XCTAssertNil(HDF5Attribute.double(1).stringList)
        let missing = assertHDF5Error("hdf5.not_found", try file.readAttribute("/layer:0", "nope"))
        XCTAssertEqual(missing, .notFound(path: path, object: "/layer:0@nope"))
        assertHDF5Error("hdf5.not_found", try file.readAttribute("/missing", "string"))
        assertHDF5Error("hdf5.not_found", try file.attributeNames("/missing"))
        XCTAssertEqual(file.openObjectCount, 1)
    }

    /// Keras splits `layer_names` into chunks because HDF5's original format caps an object
    /// header at 64 KiB; files written in the 1.8 format keep large attributes in dense storage.
    func testAttributeLargerThan64KiB() throws {
        let path = scratch.file("big-attr.h5")
        let names = (0 ..< 5000).map { "layer_with_a_long_name_\($0)/kernel:0" }
        do {
            let file = try HDF5File.create(path)
            try file.writeAttribute("/", "layer_names", .strings(names))
            try file.writeAttribute("/", "numbers", .doubles((0 ..< 20000).map(Double.init)))
            try file.close()
        }
        let file = try HDF5File.open(path)
        XCTAssertEqual(try file.readAttribute("/", "layer_names"), .strings(names))
        XCTAssertEqual(try file.readAttribute("/", "numbers"), .doubles((0 ..< 20000).map(Double.init)))
    }

    func testWriterRefusals() throws {
        let path = scratch.file("refusals.h5")
        let file = try HDF5File.create(path)
        XCTAssertEqual(assertHDF5Error("hdf5.shape_mismatch", try file.writeDataset("x", shape: [2, 3], doubles: [1, 2])),
                       .shapeMismatch(object: "/x", expected: [2, 3], actual: [2]))
        assertHDF5Error("hdf5.shape_mismatch", try file.writeDataset("x", shape: [], doubles: []))
        assertHDF5Error("hdf5.write_failed", try file.writeDataset("x", shape: [-1], doubles: []))
        let lossy = assertHDF5Error("hdf5.write_failed", try file.writeDataset("x", shape: [2], doubles: [1, 1.5], as: .int32))
        XCTAssertTrue(lossy?.description.contains("index 1") ?? false, "\(String(describing: lossy))")
        assertHDF5Error("hdf5.write_failed", try file.writeDataset("x", shape: [1], doubles: [300], as: .int8))
        assertHDF5Error("hdf5.write_failed", try file.writeDataset("x", shape: [1], doubles: [.nan], as: .int64))
        assertHDF5Error("hdf5.write_failed", try file.writeDataset("x", shape: [1], doubles: [9_223_372_036_854_775_808], as: .int64))
        assertHDF5Error("hdf5.write_failed", try file.writeDataset("x", shape: [1], doubles: [2], as: .bool))
        assertHDF5Error("hdf5.write_failed", try file.writeDataset("/", shape: [], doubles: [1]))
        XCTAssertFalse(file.exists("x"), "refused writes leave nothing behind")

        try file.writeDataset("x", shape: [1], doubles: [1])
        assertHDF5Error("hdf5.write_failed", try file.writeDataset("x", shape: [1], doubles: [2]))
        assertHDF5Error("hdf5.write_failed", try file.writeDataset("x/inside", shape: [1], doubles: [2]))
        assertHDF5Error("hdf5.wrong_type", try file.createGroup("x"))
        assertHDF5Error("hdf5.not_found", try file.writeAttribute("/missing", "a", .int(1)))
        assertHDF5Error("hdf5.write_failed", try file.writeAttribute("/", "nul", .string("a\u{0}b")))
        assertHDF5Error("hdf5.write_failed", try file.writeAttribute("/", "", .int(1)))
        XCTAssertEqual(file.openObjectCount, 1)
        try file.close()

        let reader = try HDF5File.open(path)
        assertHDF5Error("hdf5.write_failed", try reader.writeDataset("y", shape: [1], doubles: [1]))
        assertHDF5Error("hdf5.write_failed", try reader.writeAttribute("/", "a", .int(1)))
        assertHDF5Error("hdf5.write_failed", try reader.createGroup("g"))
        XCTAssertEqual(try reader.readDataset("x").doubles, [1])
    }

    func testElementLimitIsCheckedBeforeReading() throws {
        let path = scratch.file("limit.h5")
        let file = try HDF5File.create(path)
        try file.writeDataset("big", shape: [10, 10], doubles: Array(repeating: 0, count: 100), as: .float32)
        try file.writeAttribute("/", "many", .ints(Array(repeating: 3, count: 10)))
        try file.close()
        let reader = try HDF5File.open(path)
        XCTAssertEqual(assertHDF5Error("hdf5.too_large", try reader.readDataset("big", maxElements: 99)),
                       .tooLarge(object: "/big", bytes: 400, limit: 396))
        XCTAssertEqual(try reader.readDataset("big", maxElements: 100).count, 100)
        assertHDF5Error("hdf5.too_large", try reader.readAttribute("/", "many", maxElements: 9))
    }

    func testCloseIsIdempotentAndClosedFilesThrow() throws {
        let path = scratch.file("closed.h5")
        let file = try HDF5File.create(path)
        try file.writeDataset("x", shape: [], doubles: [1])
        try file.close()
        try file.close()
        XCTAssertFalse(file.isOpen)
        XCTAssertFalse(file.exists("/x"))
        assertHDF5Error("hdf5.open_failed", try file.readDataset("x"))
        assertHDF5Error("hdf5.open_failed", try file.listObjects())
        assertHDF5Error("hdf5.open_failed", try file.writeDataset("y", shape: [], doubles: [1]))

        // deinit closes: the file can be created again right away (HDF5 refuses to truncate an open file).
        do {
            let again = try HDF5File.open(path)
            XCTAssertTrue(again.exists("x"))
        }
        let recreated = try HDF5File.create(path)
        XCTAssertEqual(try recreated.listObjects(), [])
    }

    func testErrorsHaveStableCodesAndNameTheObject() {
        let errors: [(HDF5Error, String, String)] = [
            (.notHDF5(path: "/tmp/a.zip"), "hdf5.not_hdf5", "/tmp/a.zip"),
            (.openFailed(path: "/tmp/x.h5", reason: "No such file"), "hdf5.open_failed", "/tmp/x.h5"),
            (.notFound(path: "w.h5", object: "/dense@weight_names"), "hdf5.not_found", "/dense@weight_names"),
            (.wrongType(object: "/dense", expected: "dataset", actual: "group"), "hdf5.wrong_type", "/dense"),
            (.unsupportedDType(object: "/names", description: "variable-length string"), "hdf5.unsupported_dtype", "/names"),
            (.shapeMismatch(object: "/k", expected: [2, 3], actual: [5]), "hdf5.shape_mismatch", "/k"),
            (.tooLarge(object: "/big", bytes: 10, limit: 4), "hdf5.too_large", "/big"),
            (.writeFailed(path: "o.h5", reason: "/x already exists"), "hdf5.write_failed", "/x already exists"),
            (.corrupt(path: "t.h5", reason: "truncated file"), "hdf5.corrupt", "truncated file"),
        ]
        for (error, code, mention) in errors {
            XCTAssertEqual(error.code, code)
            XCTAssertTrue(error.description.hasPrefix("[\(code)] "), error.description)
            XCTAssertTrue(error.description.contains(mention), error.description)
            XCTAssertEqual(error.errorDescription, error.description)
        }
    }
}

@testable import Converter
import XCTest

/// ``NumpyPickle`` on value trees built by hand in numpy's shape: what is decoded, and every
/// deviation left undecoded (never an error: an odd scalar is a skipped entry).
final class NumpyPickleTests: XCTestCase {
    static func dtype(_ code: String, _ order: String, flags: (PickleValue, PickleValue) = (.bool(false), .bool(true))) -> PickleValue {
        .build(object: .reduce(callable: .global(module: "numpy", name: "dtype"), args: .tuple([.string(code), flags.0, flags.1])),
               state: .tuple([.int(3), .string(order), .none, .none, .none, .int(-1), .int(-1), .int(0)]))
    }

    static func scalar(_ dtype: PickleValue, _ payload: PickleValue, module: String = "numpy._core.multiarray") -> PickleValue {
        .reduce(callable: .global(module: module, name: "scalar"), args: .tuple([dtype, payload]))
    }

    static func latin1(_ bytes: [UInt8]) -> PickleValue {
        .reduce(callable: .global(module: "_codecs", name: "encode"),
                args: .tuple([.string(String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))), .string("latin1")]))
    }

    func testDecodedShapes() {
        // 1.0 as float64 little-endian: 00 00 00 00 00 00 F0 3F.
        let one: [UInt8] = [0, 0, 0, 0, 0, 0, 0xF0, 0x3F]
        XCTAssertEqual(NumpyPickle.scalar(Self.scalar(Self.dtype("f8", "<"), Self.latin1(one))), .decoded(.float(1), kind: "numpy.float64"))
        XCTAssertEqual(NumpyPickle.scalar(Self.scalar(Self.dtype("f8", "<"), .bytes(one))), .decoded(.float(1), kind: "numpy.float64"))
        XCTAssertEqual(NumpyPickle.scalar(Self.scalar(Self.dtype("f8", "<", flags: (.int(0), .int(1))), .bytes(one), module: "numpy.core.multiarray")),
                       .decoded(.float(1), kind: "numpy.float64"))
        // -2 as int32: FE FF FF FF.
        XCTAssertEqual(NumpyPickle.scalar(Self.scalar(Self.dtype("i4", "<"), .bytes([0xFE, 0xFF, 0xFF, 0xFF]))), .decoded(.int(-2), kind: "numpy.int32"))
        XCTAssertEqual(NumpyPickle.scalar(Self.scalar(Self.dtype("b1", "|"), .bytes([1]))), .decoded(.bool(true), kind: "numpy.bool"))
    }

    func testDeviationsAreUndecoded() {
        let one: [UInt8] = [0, 0, 0, 0, 0, 0, 0xF0, 0x3F]
        let cases: [PickleValue] = [
            Self.scalar(Self.dtype("f8", ">"), .bytes(one)),                         // big-endian
            Self.scalar(Self.dtype("f8", "="), .bytes(one)),                         // native: not written by numpy
            Self.scalar(Self.dtype("f8", "<"), .bytes(Array(one.dropLast()))),       // short payload
            Self.scalar(Self.dtype("f2", "<"), .bytes([0, 0x3C])),                   // float16: not decoded
            Self.scalar(Self.dtype("b1", "|"), .bytes([2])),                         // a bool byte that is not 0/1
            Self.scalar(Self.dtype("f8", "<", flags: (.bool(true), .bool(true))), .bytes(one)),
            Self.scalar(Self.dtype("f8", "<"), .reduce(callable: .global(module: "_codecs", name: "encode"),
                                                       args: .tuple([.string("\u{100}\0\0\0\0\0\0\0"), .string("latin1")]))),  // not latin-1
            Self.scalar(Self.dtype("f8", "<"), .reduce(callable: .global(module: "_codecs", name: "encode"),
                                                       args: .tuple([.string("\0\0\0\0\0\0\u{F0}?"), .string("utf-8")]))),  // other codec
            Self.scalar(.none, .bytes(one)),
        ]
        for c in cases {
            guard case .undecoded? = NumpyPickle.scalar(c) else { return XCTFail("decoded: \(c)") }
        }
        XCTAssertNil(NumpyPickle.scalar(.int(3)))
    }
}

import Converter
import Foundation
import XCTest

/// The restricted pickle reader: Python-made fixtures compared with the JSON written from the
/// Python objects, hostile fixtures refused with their codes (and nothing run), and the
/// malformed-input table on hand-made bytes.
final class PickleReaderTests: XCTestCase {
    let p2 = pickleBytes(0x80, 2)

    // MARK: Fixtures made by Python's pickle

    func testEveryProtocolReadsTheFixtureValue() throws {
        let expected = try PlainValue.load(PickleFixtures.path("value.json"))
        // protocol 2 writes bytes as _codecs.encode(str, 'latin1') and b'' as __builtin__.bytes()
        let reader = PickleReader(allowlist: ["collections.OrderedDict", "_codecs.encode", "__builtin__.bytes"])
        for proto in 2 ... 5 {
            let tree = try reader.read(try PickleFixtures.bytes("value-protocol\(proto).pkl"))
            XCTAssertEqual(try PlainValue.from(tree), expected, "protocol \(proto)")
        }
    }

    func testSharedSubObjectIsReadThroughTheMemoWithItsContents() throws {
        // the list is memoized while empty and filled by APPENDS afterwards: the second reference
        // (BINGET) must see the filled list (a memo of copies would give [])
        let tree = try PickleReader(allowlist: ["collections.OrderedDict"]).read(try PickleFixtures.bytes("value-protocol3.pkl"))
        guard case let .odict(top) = try PlainValue.from(tree) else { return XCTFail("not an OrderedDict") }
        let shared = top.first { $0[0] == .str("shared") }?[1]
        XCTAssertEqual(shared, .list([.int(1), .str("shared"), .dict([[.str("k"), .tuple([.int(2), .float(bits: 3.5.bitPattern)])]])]))
    }

    func testTorchLikeStateDictReadsWithTheDefaultAllowlist() throws {
        let expected = try PlainValue.load(PickleFixtures.path("torch-like-state-dict.json"))
        let tree = try PickleReader().read(try PickleFixtures.bytes("torch-like-state-dict.pkl"))
        XCTAssertEqual(try PlainValue.from(tree), expected)
        // the shape the tensor layer will walk: BUILD(SETITEMS(REDUCE(OrderedDict)), state)
        guard case let .build(.setItems(.reduce(.global("collections", "OrderedDict"), _), entries), _) = tree else { return XCTFail("\(tree)") }
        XCTAssertEqual(entries.map(\.key), [.string("layer.weight"), .string("layer.bias"), .string("layer.weight_t")])
    }

    func testHostileFixturesAreRefusedWithTheirCodesAndNothingRuns() throws {
        let marker = "/tmp/l2hmc-pickle-fixture-pwned"
        try? FileManager.default.removeItem(atPath: marker)
        let table = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: PickleFixtures.path("hostile.json")))) as? [String: String] ?? [:]
        XCTAssertEqual(table.count, 7)
        for (name, code) in table.sorted(by: { $0.key < $1.key }) {
            let start = Date()
            XCTAssertEqual(pickleCode(try PickleFixtures.bytes(name)), code, name)
            XCTAssertLessThan(Date().timeIntervalSince(start), 2, name)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "the os.system payload ran")
    }

    func testRefusalsNameTheCulprit() throws {
        func message(_ name: String) throws -> String {
            do { _ = try PickleReader().read(try PickleFixtures.bytes(name)) } catch let error as ConvertError { return error.description }
            return "read"
        }
        XCTAssertEqual(try message("hostile-reduce-os-system-p2.pkl"), "[convert.pickle_global] pickle global posix.system at byte 2 is not on the allowlist; refused, nothing was executed")
        XCTAssertEqual(try message("hostile-reduce-os-system-p4.pkl"), "[convert.pickle_global] pickle global posix.system at byte 28 is not on the allowlist; refused, nothing was executed")
        XCTAssertEqual(try message("hostile-inst.pkl"), "[convert.pickle_opcode] pickle opcode INST (0x69) at byte 12 is not in the restricted reader's subset; nothing was executed")
        XCTAssertEqual(try message("hostile-memo-unset.pkl"), "[convert.pickle_malformed] malformed pickle at byte 2: memo index 5 was never set")
        XCTAssertEqual(try message("hostile-deep-nesting.pkl"), "[convert.pickle_limit] pickle exceeds the limit on nesting depth (200) at byte 5201; refused before allocating")  // 2 + 5000 lists + the 200th APPEND
    }

    // MARK: The allowlist

    func testGlobalsOutsideTheAllowlistAreRefusedByName() throws {
        for global in ["os.system", "posix.system", "builtins.eval", "builtins.exec", "subprocess.Popen",
                       "numpy.core.multiarray._reconstruct", "torch.load", "collections.defaultdict"] {
            let dot = global.lastIndex(of: ".") ?? global.startIndex
            let module = String(global[..<dot]), name = String(global[global.index(after: dot)...])
            let viaGlobal = p2 + pickleBytes("c", module, "\n", name, "\n", ")R.")
            let viaStack = pickleBytes(0x80, 4, 0x8C, module.utf8.count, module, 0x8C, name.utf8.count, name, 0x93, ")R.")
            for bytes in [viaGlobal, viaStack] {
                XCTAssertThrowsError(try PickleReader().read(bytes), global) { error in
                    XCTAssertEqual(error as? ConvertError, .pickleGlobal(module: module, name: name, offset: bytes[1] == 2 ? 2 : 2 + 2 + module.utf8.count + 2 + name.utf8.count))
                }
                // allowed explicitly: an inert node, still not called
                XCTAssertEqual(try PickleReader(allowlist: [global]).read(bytes), .reduce(callable: .global(module: module, name: name), args: .tuple([])))
            }
        }
        XCTAssertTrue(PickleAllowlist.stateDict.contains("torch._utils._rebuild_tensor_v2"))
        XCTAssertFalse(PickleAllowlist.stateDict.contains { $0.hasPrefix("numpy") || $0.hasPrefix("builtins") })
    }

    func testReduceAndNewobjNeedAnAllowedGlobalAndATuple() {
        let reader = PickleReader(allowlist: ["m.f"])
        XCTAssertEqual(pickleCode(p2 + pickleBytes("N)R."), reader: reader), "convert.pickle_malformed")  // callable None
        XCTAssertEqual(pickleCode(p2 + pickleBytes("cm\nf\nNR."), reader: reader), "convert.pickle_malformed")  // args None
        XCTAssertEqual(pickleCode(p2 + pickleBytes("cm\nf\n]R."), reader: reader), "convert.pickle_malformed")  // args list
        XCTAssertEqual(try reader.read(p2 + pickleBytes("cm\nf\nK", 7, 0x85, 0x81, ".")),
                       .newObject(cls: .global(module: "m", name: "f"), args: .tuple([.int(7)])))
    }

    // MARK: Opcodes

    func testEveryOpcodeOutsideTheSubsetIsRefusedByNameAndOffset() {
        let supported: Set<UInt8> = [0x80, 0x95, 0x2E, 0x28, 0x30, 0x31, 0x7D, 0x5D, 0x29, 0x74, 0x85, 0x86, 0x87, 0x61, 0x65,
                                     0x73, 0x75, 0x4A, 0x4B, 0x4D, 0x8A, 0x8B, 0x47, 0x8C, 0x58, 0x8D, 0x43, 0x42, 0x8E, 0x4E,
                                     0x88, 0x89, 0x68, 0x6A, 0x71, 0x72, 0x94, 0x63, 0x93, 0x52, 0x62, 0x81, 0x51]
        var refused = 0
        for byte in UInt8.min ... UInt8.max where !supported.contains(byte) {
            let bytes = p2 + pickleBytes("N", byte, "\n\n\n\n\n\n\n\n.")
            XCTAssertThrowsError(try PickleReader().read(bytes)) { error in
                guard case let .pickleOpcode(name, found, offset) = error as? ConvertError else { return XCTFail("\(byte): \(error)") }
                XCTAssertEqual(found, byte)
                XCTAssertEqual(offset, 3)
                let expectedName: [UInt8: String] = [0x69: "INST", 0x6F: "OBJ", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4", 0x50: "PERSID",
                                                     0x32: "DUP", 0x92: "NEWOBJ_EX", 0x8F: "EMPTY_SET", 0x96: "BYTEARRAY8", 0x67: "GET",
                                                     0x70: "PUT", 0x53: "STRING", 0x55: "SHORT_BINSTRING", 0x49: "INT", 0x00: "unknown"]
                if let n = expectedName[byte] { XCTAssertEqual(name, n) }
            }
            refused += 1
        }
        XCTAssertEqual(refused, 256 - 43)
    }

    func testScalarsAreExact() throws {
        let r = PickleReader()
        XCTAssertEqual(try r.read(p2 + pickleBytes("J", 0xFF, 0xFF, 0xFF, 0xFF, ".")), .int(-1))  // BININT is signed
        XCTAssertEqual(try r.read(p2 + pickleBytes("M", 0xFF, 0xFF, ".")), .int(65535))
        XCTAssertEqual(try r.read(p2 + pickleBytes(0x8A, 0, ".")), .int(0))
        XCTAssertEqual(try r.read(p2 + pickleBytes(0x8A, 1, 0xFF, ".")), .int(-1))
        XCTAssertEqual(try r.read(p2 + pickleBytes(0x8A, 2, 0xFF, 0x00, ".")), .int(255))
        XCTAssertEqual(try r.read(p2 + pickleBytes(0x8A, 8, [UInt8](repeating: 0, count: 7), 0x80, ".")), .int(Int64.min))
        XCTAssertEqual(try r.read(p2 + pickleBytes(0x8B, 3, 0, 0, 0, 0x00, 0x00, 0x80, ".")), .int(-(1 << 23)))
        XCTAssertEqual(pickleCode(p2 + pickleBytes(0x8A, 9, [UInt8](repeating: 0, count: 8), 0x01, ".")), "convert.pickle_limit")  // 2^64
        XCTAssertEqual(pickleCode(p2 + pickleBytes(0x8B, 0xFF, 0xFF, 0xFF, 0xFF, ".")), "convert.pickle_malformed")  // negative length
        // BINFLOAT is big-endian: 0x3FF8000000000000 = 1.5; -0.0 keeps its sign
        XCTAssertEqual(try r.read(p2 + pickleBytes("G", 0x3F, 0xF8, 0, 0, 0, 0, 0, 0, ".")), .float(1.5))
        XCTAssertEqual(try r.read(p2 + pickleBytes("G", 0x80, 0, 0, 0, 0, 0, 0, 0, ".")), .float(-0.0))
        XCTAssertEqual(try r.read(p2 + pickleBytes(0x8D, 2, 0, 0, 0, 0, 0, 0, 0, "hi.")), .string("hi"))
        XCTAssertEqual(try r.read(p2 + pickleBytes(0x8E, 1, 0, 0, 0, 0, 0, 0, 0, 0xAB, ".")), .bytes([0xAB]))
        XCTAssertEqual(pickleCode(p2 + pickleBytes(0x8C, 1, 0xFF, ".")), "convert.pickle_malformed")  // not UTF-8
    }

    func testContainersMemoAndObjects() throws {
        let r = PickleReader(allowlist: ["m.C"])
        // duplicate key: first position, last value (Python's dict)
        XCTAssertEqual(try r.read(p2 + pickleBytes("}(K", 1, "K", 2, "K", 3, "K", 4, "K", 1, "K", 5, "u.")),
                       .dict([PickleDictEntry(key: .int(1), value: .int(5)), PickleDictEntry(key: .int(3), value: .int(4))]))
        XCTAssertEqual(pickleCode(p2 + pickleBytes("}]K", 1, "s.")), "convert.pickle_malformed")  // list as key
        XCTAssertEqual(pickleCode(p2 + pickleBytes("}(K", 1, "u.")), "convert.pickle_malformed")  // odd SETITEMS
        // BUILD updates the memoized object in place: BINGET afterwards sees the state
        let built = try r.read(p2 + pickleBytes("]cm\nC\n)Rq", 0, "Nbah", 0, "a."))
        let object = PickleValue.build(object: .reduce(callable: .global(module: "m", name: "C"), args: .tuple([])), state: .none)
        XCTAssertEqual(built, .list([object, object]))
        XCTAssertEqual(pickleCode(p2 + pickleBytes("]Nb.")), "convert.pickle_malformed")  // BUILD on a list
        // APPENDS on an object, BINPERSID, POP, POP_MARK
        XCTAssertEqual(try r.read(p2 + pickleBytes("cm\nC\n)R(K", 1, "e.")),
                       .appended(object: .reduce(callable: .global(module: "m", name: "C"), args: .tuple([])), items: [.int(1)]))
        XCTAssertEqual(try r.read(p2 + pickleBytes("X", 1, 0, 0, 0, "kQ.")), .persistentID(.string("k")))
        XCTAssertEqual(try r.read(p2 + pickleBytes("NK", 1, "0(NN1.")), .none)
        // LONG_BINPUT / LONG_BINGET at a large index, MEMOIZE numbering
        XCTAssertEqual(try r.read(p2 + pickleBytes("N", "r", 0xFF, 0xFF, 0xFF, 0xFF, "0j", 0xFF, 0xFF, 0xFF, 0xFF, ".")), .none)
        XCTAssertEqual(try r.read(pickleBytes(0x80, 4, "N", 0x94, "0K", 1, 0x94, "0h", 0, "h", 1, 0x86, ".")), .tuple([.none, .int(1)]))
    }

    // MARK: Malformed input

    func testTruncationAtEveryOffsetIsPickleTruncated() throws {
        for name in ["value-protocol2.pkl", "value-protocol4.pkl", "torch-like-state-dict.pkl"] {
            let bytes = try PickleFixtures.bytes(name)
            let reader = PickleReader(allowlist: PickleAllowlist.stateDict.union(["_codecs.encode", "__builtin__.bytes"]))
            XCTAssertNoThrow(try reader.read(bytes))
            for length in 0 ..< bytes.count {
                XCTAssertEqual(pickleCode(Array(bytes[..<length]), reader: reader), "convert.pickle_truncated", "\(name) cut at \(length)")
            }
        }
    }

    func testHugeLengthsAreRefusedBeforeAllocating() {
        let cases: [[UInt8]] = [
            pickleBytes("X", 0xFF, 0xFF, 0xFF, 0xFF, "abc."),
            pickleBytes(0x8D, [UInt8](repeating: 0xFF, count: 8), "abc."),
            pickleBytes(0x8D, [UInt8](repeating: 0, count: 7), 0x80, "abc."),  // 2^63
            pickleBytes("B", 0xFF, 0xFF, 0xFF, 0x7F, "."),
            pickleBytes(0x8E, [UInt8](repeating: 0xFF, count: 8), "."),
            pickleBytes("C", 200, "."),
            pickleBytes(0x8B, 0xFF, 0xFF, 0xFF, 0x7F, "."),
            pickleBytes(0x95, [UInt8](repeating: 0xFF, count: 8), "N."),
            pickleBytes("cos\nsystem"),  // no newline
        ]
        for (i, tail) in cases.enumerated() {
            XCTAssertEqual(pickleCode(p2 + tail), "convert.pickle_truncated", "case \(i)")
        }
    }

    func testStructuralErrors() {
        let malformed: [(String, [UInt8])] = [
            ("no PROTO", pickleBytes("N.")),
            ("protocol 1", pickleBytes(0x80, 1, "N.")),
            ("protocol 6", pickleBytes(0x80, 6, "N.")),
            ("empty stack at STOP", p2 + pickleBytes(".")),
            ("two values at STOP", p2 + pickleBytes("NN.")),
            ("open MARK at STOP", p2 + pickleBytes("(N.")),
            ("bytes after STOP", p2 + pickleBytes("N.N")),
            ("APPEND on an empty stack", p2 + pickleBytes("a.")),
            ("TUPLE without MARK", p2 + pickleBytes("t.")),
            ("APPEND across a MARK", p2 + pickleBytes("](a.")),
            ("APPEND onto an int", p2 + pickleBytes("K", 1, "K", 2, "a.")),
            ("SETITEM onto a list", p2 + pickleBytes("]K", 1, "K", 2, "s.")),
            ("a list appended to itself (cycle)", p2 + pickleBytes("]q", 0, "h", 0, "a.")),
            ("STACK_GLOBAL of non-strings", p2 + pickleBytes("NNK", 1, 0x93, ".")),
            ("BINPUT on an empty stack", p2 + pickleBytes("q", 0, "N.")),
        ]
        for (label, bytes) in malformed {
            XCTAssertEqual(pickleCode(bytes), "convert.pickle_malformed", label)
        }
    }

    func testLimits() {
        var limits = PickleLimits()
        limits.maxStackDepth = 100
        XCTAssertEqual(pickleCode(p2 + pickleBytes([UInt8](repeating: 0x28, count: 200), "."), reader: PickleReader(limits: limits)), "convert.pickle_limit")
        XCTAssertEqual(pickleCode(p2 + pickleBytes([UInt8](repeating: 0x4E, count: 200), "."), reader: PickleReader(limits: limits)), "convert.pickle_limit")
        limits = PickleLimits()
        limits.maxMemoEntries = 3
        XCTAssertEqual(pickleCode(p2 + pickleBytes("Nq", 0, "q", 1, "q", 2, "q", 0, "."), reader: PickleReader(limits: limits)), nil)  // rebinding is free
        XCTAssertEqual(pickleCode(p2 + pickleBytes("Nq", 0, "q", 1, "q", 2, "q", 3, "."), reader: PickleReader(limits: limits)), "convert.pickle_limit")
        limits = PickleLimits()
        limits.maxValues = 10
        XCTAssertEqual(pickleCode(p2 + pickleBytes("(NNNNNNNNNl.").map { $0 == 0x6C ? 0x74 : $0 }, reader: PickleReader(limits: limits)), nil)  // 10 values
        XCTAssertEqual(pickleCode(p2 + pickleBytes("(NNNNNNNNNNt."), reader: PickleReader(limits: limits)), "convert.pickle_limit")
        limits = PickleLimits()
        limits.maxInputBytes = 3
        XCTAssertEqual(pickleCode(p2 + pickleBytes("N."), reader: PickleReader(limits: limits)), "convert.pickle_limit")
        // nesting: depth 200 reads, 201 is refused (tuples nest at construction)
        let nested = { (n: Int) in self.p2 + pickleBytes("N", [UInt8](repeating: 0x85, count: n - 1), ".") }
        XCTAssertEqual(pickleCode(nested(200)), nil)
        XCTAssertEqual(pickleCode(nested(201)), "convert.pickle_limit")
    }

    func testMemoChainsDeepenedInPlaceAreStillBounded() {
        // n lists, each memoized empty, then list i appended into list i-1: every APPEND sees a
        // depth of 2, but the chain is n deep; the tree is refused, and tearing down does not recurse
        let n = 60000  // deep enough that a recursive release of the chain would overflow the stack
        var bytes = p2 + pickleBytes("(")
        for i in 0 ..< n { bytes += pickleBytes("]r", UInt8(i & 0xFF), UInt8(i >> 8), 0, 0) }
        bytes += pickleBytes("1")  // POP_MARK: every list is only in the memo now
        for i in 0 ..< n - 1 {
            bytes += pickleBytes("j", UInt8(i & 0xFF), UInt8(i >> 8), 0, 0, "j", UInt8((i + 1) & 0xFF), UInt8((i + 1) >> 8), 0, 0, "a0")
        }
        bytes += pickleBytes("j", 0, 0, 0, 0, ".")
        XCTAssertEqual(pickleCode(bytes), "convert.pickle_limit")
    }
}

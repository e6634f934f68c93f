import Converter
import Foundation
import XCTest

/// Python values in the tagged JSON form `fixtures/pickle/make_pickle_fixtures.py` writes from
/// the Python objects themselves (independent of the pickle bytes and of the reader).
indirect enum PlainValue: Equatable, CustomStringConvertible {
    case none, bool(Bool), int(Int64), float(bits: UInt64), str(String), bytes([UInt8])
    case list([PlainValue]), tuple([PlainValue]), dict([[PlainValue]]), odict([[PlainValue]])
    case global(String), reduce(PlainValue, PlainValue), persid(PlainValue), build(PlainValue, PlainValue)

    var description: String {
        switch self {
        case .none: return "None"
        case let .bool(b): return b ? "True" : "False"
        case let .int(i): return String(i)
        case let .float(bits): return "\(Double(bitPattern: bits))"
        case let .str(s): return s.debugDescription
        case let .bytes(b): return "b<\(b.count)>"
        case let .list(items): return "[" + items.map(\.description).joined(separator: ", ") + "]"
        case let .tuple(items): return "(" + items.map(\.description).joined(separator: ", ") + ")"
        case let .dict(pairs): return "{" + pairs.map { $0.map(\.description).joined(separator: ": ") }.joined(separator: ", ") + "}"
        case let .odict(pairs): return "OrderedDict{" + pairs.map { $0.map(\.description).joined(separator: ": ") }.joined(separator: ", ") + "}"
        case let .global(name): return name
        case let .reduce(c, a): return "\(c)\(a)"
        case let .persid(v): return "persid(\(v))"
        case let .build(o, s): return "build(\(o), \(s))"
        }
    }

    struct Invalid: Error { let reason: String }

    static func parse(json: Any) throws -> PlainValue {
        guard let object = json as? [String: Any], object.count == 1, let (tag, body) = object.first else { throw Invalid(reason: "not a tagged value: \(json)") }
        func items() throws -> [PlainValue] {
            guard let array = body as? [Any] else { throw Invalid(reason: "\(tag) without an array") }
            return try array.map(parse(json:))
        }
        func pairs() throws -> [[PlainValue]] {
            guard let array = body as? [[Any]] else { throw Invalid(reason: "\(tag) without pairs") }
            return try array.map { try $0.map(parse(json:)) }
        }
        switch tag {
        case "none": return .none
        case "bool": guard let b = body as? Bool else { throw Invalid(reason: "bool") }; return .bool(b)
        case "int": guard let s = body as? String, let i = Int64(s) else { throw Invalid(reason: "int") }; return .int(i)
        case "float": guard let s = body as? String, let d = Double(s) else { throw Invalid(reason: "float") }; return .float(bits: d.bitPattern)
        case "str": guard let s = body as? String else { throw Invalid(reason: "str") }; return .str(s)
        case "bytes":
            guard let hex = body as? String else { throw Invalid(reason: "bytes") }
            let chars = Array(hex.utf8)
            return .bytes(try stride(from: 0, to: chars.count, by: 2).map { i in
                guard let byte = UInt8(String(decoding: chars[i ..< i + 2], as: UTF8.self), radix: 16) else { throw Invalid(reason: "hex") }
                return byte
            })
        case "list": return .list(try items())
        case "tuple": return .tuple(try items())
        case "dict": return .dict(try pairs())
        case "odict": return .odict(try pairs())
        case "global": guard let s = body as? String else { throw Invalid(reason: "global") }; return .global(s)
        case "persid": return .persid(try parse(json: body))
        case "reduce", "build":
            let two = try items()
            guard two.count == 2 else { throw Invalid(reason: tag) }
            return tag == "reduce" ? .reduce(two[0], two[1]) : .build(two[0], two[1])
        default: throw Invalid(reason: "unknown tag \(tag)")
        }
    }

    static func load(_ path: String) throws -> PlainValue {
        try parse(json: try JSONSerialization.jsonObject(with: try Data(contentsOf: URL(fileURLWithPath: path)), options: [.fragmentsAllowed]))
    }

    /// The reader's tree as Python data, interpreting only what Python's pickler writes for the
    /// fixture's types: `collections.OrderedDict()` REDUCE (+ SETITEMS) as an ordered dict, and
    /// protocol 2's `_codecs.encode(str, 'latin1')` and `__builtin__.bytes()` as bytes.
    /// Other globals and calls stay tagged.
    static func from(_ value: PickleValue) throws -> PlainValue {
        func pairs(_ entries: [PickleDictEntry]) throws -> [[PlainValue]] { try entries.map { [try from($0.key), try from($0.value)] } }
        switch value {
        case .none: return .none
        case let .bool(b): return .bool(b)
        case let .int(i): return .int(i)
        case let .float(d): return .float(bits: d.bitPattern)
        case let .string(s): return .str(s)
        case let .bytes(b): return .bytes(b)
        case let .list(items): return .list(try items.map(from))
        case let .tuple(items): return .tuple(try items.map(from))
        case let .dict(entries): return .dict(try pairs(entries))
        case .reduce(.global("collections", "OrderedDict"), .tuple([])): return .odict([])
        case let .setItems(.reduce(.global("collections", "OrderedDict"), .tuple([])), entries): return .odict(try pairs(entries))
        case .reduce(.global("__builtin__", "bytes"), .tuple([])): return .bytes([])
        case let .reduce(.global("_codecs", "encode"), .tuple(args)) where args.count == 2 && args[1] == .string("latin1"):
            guard case let .string(text) = args[0] else { throw Invalid(reason: "encode") }
            return .bytes(try text.unicodeScalars.map { scalar in
                guard scalar.value < 256 else { throw Invalid(reason: "latin1") }
                return UInt8(scalar.value)
            })
        case let .global(module, name): return .global(module + "." + name)
        case let .reduce(callable, args): return .reduce(try from(callable), try from(args))
        case let .persistentID(id): return .persid(try from(id))
        case let .build(object, state): return .build(try from(object), try from(state))
        default: throw Invalid(reason: "no plain form for \(value)")
        }
    }
}

enum PickleFixtures {
    static func path(_ name: String) -> String { Fixtures.root.appendingPathComponent("fixtures/pickle/\(name)").path }
    static func bytes(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path(name)))) }
}

/// Bytes from pieces: strings as UTF-8, integers as single bytes.
func pickleBytes(_ parts: Any...) -> [UInt8] {
    var out: [UInt8] = []
    for part in parts {
        switch part {
        case let s as String: out += Array(s.utf8)
        case let b as UInt8: out.append(b)
        case let i as Int: out.append(UInt8(truncatingIfNeeded: i))
        case let a as [UInt8]: out += a
        default: preconditionFailure("pickleBytes: \(part)")
        }
    }
    return out
}

/// The code of the ConvertError `body` throws (nil if it returns; fails on other errors).
func pickleCode(_ bytes: [UInt8], reader: PickleReader = PickleReader(), file: StaticString = #filePath, line: UInt = #line) -> String? {
    do {
        _ = try reader.read(bytes)
        return nil
    } catch let error as ConvertError {
        return error.code
    } catch {
        XCTFail("threw \(error), not a ConvertError", file: file, line: line)
        return "other"
    }
}

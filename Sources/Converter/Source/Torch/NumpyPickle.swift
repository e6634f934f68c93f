import Foundation

/// Recognizes numpy objects in a pickled value tree (``PickleValue``) by their shape alone: nothing
/// is imported or called.
///
/// Contract (docs/CONVERT.md "PyTorch zip checkpoints"): a numpy **scalar** is
/// `reduce(global numpy[._]core.multiarray.scalar, (dtype, payload))` with
/// `dtype = build(reduce(global numpy.dtype, (code, False|0, True|1)), (3, order, None, None, None, -1, -1, 0))`
/// and `payload` a bytes value or protocol 2's `reduce(global _codecs.encode, (str, 'latin1'))`
/// (each character one byte, U+0000...U+00FF). It is decoded when `code` is `f8`, `f4`, `i8`, `i4`
/// (order `<`: little-endian; `>` is not decoded) or `b1` (order `|`, a byte 0 or 1) and the
/// payload has exactly the dtype's size: f4 and f8 exactly (IEEE bits), i4 and i8 as two's
/// complement. Any other numpy scalar is ``Scalar/undecoded(_:)`` with a reason. A numpy **array**
/// is a `_reconstruct` call (with or without BUILD state) and is never decoded.
enum NumpyPickle {
    enum Scalar: Equatable {
        case decoded(TorchScalar.Value, kind: String)
        case undecoded(String)
    }

    static let scalarGlobals: Set<String> = ["numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar"]
    static let reconstructGlobals: Set<String> = ["numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct"]

    /// True for a numpy array: `_reconstruct(...)`, possibly with BUILD state.
    static func isArray(_ v: PickleValue) -> Bool {
        switch v {
        case let .build(object, _): return isArray(object)
        case let .reduce(c, _): return c.globalName.map(reconstructGlobals.contains) ?? false
        default: return false
        }
    }

    /// The scalar's decoding, or nil when `v` is not a `multiarray.scalar` call.
    static func scalar(_ v: PickleValue) -> Scalar? {
        guard case let .reduce(c, args) = v, let g = c.globalName, scalarGlobals.contains(g) else { return nil }
        guard case let .tuple(a) = args, a.count == 2 else { return .undecoded("numpy scalar with unexpected arguments (not interpreted)") }
        guard let (code, order) = dtype(a[0]) else { return .undecoded("numpy scalar of an unrecognized dtype (not interpreted)") }
        let table: [String: (size: Int, order: String, kind: String)] = [
            "f8": (8, "<", "numpy.float64"), "f4": (4, "<", "numpy.float32"), "i8": (8, "<", "numpy.int64"),
            "i4": (4, "<", "numpy.int32"), "b1": (1, "|", "numpy.bool"),
        ]
        guard let t = table[code] else { return .undecoded("numpy scalar of dtype \(code.debugDescription) (not interpreted)") }
        guard order == t.order else { return .undecoded("numpy scalar \(code) with byte order \(order.debugDescription) (only little-endian is decoded)") }
        guard let raw = bytes(a[1]), raw.count == t.size else {
            return .undecoded("numpy scalar \(code) whose payload is not \(t.size) bytes (not interpreted)")
        }
        var bits: UInt64 = 0
        for (i, b) in raw.enumerated() { bits |= UInt64(b) << (8 * UInt64(i)) }
        switch code {
        case "f8": return .decoded(.float(Double(bitPattern: bits)), kind: t.kind)
        case "f4": return .decoded(.float(Double(Float(bitPattern: UInt32(truncatingIfNeeded: bits)))), kind: t.kind)
        case "i8": return .decoded(.int(Int64(bitPattern: bits)), kind: t.kind)
        case "i4": return .decoded(.int(Int64(Int32(bitPattern: UInt32(truncatingIfNeeded: bits)))), kind: t.kind)
        default:
            guard bits <= 1 else { return .undecoded("numpy bool whose byte is \(bits), not 0 or 1 (not interpreted)") }
            return .decoded(.bool(bits == 1), kind: t.kind)
        }
    }

    /// A 0-d numpy array (upstream's checkpoint lists `xeps`/`veps` hold `e.detach().numpy()`):
    /// `build(reduce(_reconstruct, (global numpy.ndarray, (0,), b'b')), (1, (), dtype, False|0, payload))`,
    /// decoded by the scalar rules above (kind `numpy 0-d <kind>`); nil when `v` is not one.
    static func zeroDimensionalArray(_ v: PickleValue) -> Scalar? {
        guard case let .build(.reduce(c, .tuple(a)), .tuple(state)) = v, let g = c.globalName, reconstructGlobals.contains(g),
              a.count == 3, a[0].globalName == "numpy.ndarray", state.count == 5, state[0] == .int(1), state[1] == .tuple([]),
              isFlag(state[3], false) else { return nil }
        guard case let .decoded(value, kind)? = scalar(.reduce(callable: .global(module: "numpy._core.multiarray", name: "scalar"),
                                                                args: .tuple([state[2], state[4]]))) else {
            return .undecoded("0-d numpy array of a dtype or payload that is not decoded (not interpreted)")
        }
        return .decoded(value, kind: "numpy 0-d " + kind.replacingOccurrences(of: "numpy.", with: ""))
    }

    /// `(code, byte order)` of `build(reduce(global numpy.dtype, (code, False|0, True|1)), (3, order, None, None, None, -1, -1, 0))`.
    static func dtype(_ v: PickleValue) -> (String, String)? {
        guard case let .build(.reduce(c, .tuple(a)), .tuple(state)) = v, c.globalName == "numpy.dtype",
              a.count == 3, case let .string(code) = a[0], isFlag(a[1], false), isFlag(a[2], true),
              state.count == 8, state[0] == .int(3), case let .string(order) = state[1],
              state[2] == .none, state[3] == .none, state[4] == .none,
              state[5] == .int(-1), state[6] == .int(-1), state[7] == .int(0) else { return nil }
        return (code, order)
    }

    /// numpy 2 pickles the dtype's `align`/`copy` flags as bools, numpy 1.x as the ints 0 and 1.
    static func isFlag(_ v: PickleValue, _ expected: Bool) -> Bool {
        v == .bool(expected) || v == .int(expected ? 1 : 0)
    }

    /// A bytes value, or protocol 2's `_codecs.encode(str, 'latin1')` spelling of one (every
    /// character must be U+0000...U+00FF, one byte each), or `__builtin__.bytes()` (empty).
    static func bytes(_ v: PickleValue) -> [UInt8]? {
        switch v {
        case let .bytes(b): return b
        case let .reduce(c, .tuple(a)) where c.globalName == "_codecs.encode":
            guard a.count == 2, case let .string(s) = a[0], a[1] == .string("latin1") else { return nil }
            var out: [UInt8] = []
            for u in s.unicodeScalars {
                guard u.value <= 0xFF else { return nil }
                out.append(UInt8(u.value))
            }
            return out
        case let .reduce(c, .tuple(a)) where c.globalName == "__builtin__.bytes" && a.isEmpty:
            return []
        default: return nil
        }
    }
}

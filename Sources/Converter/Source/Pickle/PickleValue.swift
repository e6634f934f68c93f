import Foundation

/// The value tree a ``PickleReader`` produces from a pickle: data, plus inert nodes that record
/// what a pickle would have called. Nothing in this tree was ever executed: `reduce`, `build`,
/// `newObject`, `setItems` and `appended` only describe calls; a later layer (the tensor
/// rebuilder) interprets nodes whose callable is a global it knows.
///
/// Shared values (a memo entry referenced several times) appear as equal copies: the tree is a
/// tree, never a graph. Its nesting depth is at most ``PickleLimits/maxDepth`` and its node count
/// at most ``PickleLimits/maxValues``.
public indirect enum PickleValue: Hashable, Sendable {
    case none
    case bool(Bool)
    /// Python int; values outside Int64 are refused (`convert.pickle_limit`).
    case int(Int64)
    /// Python float (IEEE binary64, bit-exact from BINFLOAT).
    case float(Double)
    /// Python str (valid UTF-8).
    case string(String)
    /// Python bytes.
    case bytes([UInt8])
    case tuple([PickleValue])
    case list([PickleValue])
    /// Python dict, in insertion order (a key set twice keeps its first position and its last
    /// value, as Python does). Keys are `none`, `bool`, `int`, `float`, `string`, `bytes` or
    /// tuples of these. Unlike Python, `1`, `1.0` and `True` are different keys.
    case dict([PickleDictEntry])
    /// A GLOBAL or STACK_GLOBAL that passed the allowlist (`module.name`).
    case global(module: String, name: String)
    /// REDUCE: `callable(*args)` that was NOT called. `callable` is always a `global`, `args` a `tuple`.
    case reduce(callable: PickleValue, args: PickleValue)
    /// NEWOBJ: `cls.__new__(cls, *args)` that was NOT called. `cls` is a `global`, `args` a `tuple`.
    case newObject(cls: PickleValue, args: PickleValue)
    /// BUILD: `object.__setstate__(state)` (or `__dict__` update) that was NOT applied.
    case build(object: PickleValue, state: PickleValue)
    /// SETITEM(S) applied to something that is not a plain dict (e.g. the `reduce` node of an
    /// `OrderedDict`): `object[key] = value` for every entry, in order, NOT applied.
    case setItems(object: PickleValue, entries: [PickleDictEntry])
    /// APPEND(S) applied to something that is not a plain list, NOT applied.
    case appended(object: PickleValue, items: [PickleValue])
    /// BINPERSID: a persistent id (torch: `('storage', storage type, key, location, numel)`),
    /// left for the caller to resolve.
    case persistentID(PickleValue)

    /// `module.name` of a `global`, else nil.
    public var globalName: String? {
        if case let .global(module, name) = self { return module + "." + name }
        return nil
    }

    /// True for the kinds a dict key may have (hashable in Python and supported here).
    public var isKeyKind: Bool {
        switch self {
        case .none, .bool, .int, .float, .string, .bytes: return true
        case let .tuple(items): return items.allSatisfy { $0.isKeyKind }
        default: return false
        }
    }
}

/// One `key: value` pair of a ``PickleValue/dict`` or ``PickleValue/setItems`` node.
public struct PickleDictEntry: Hashable, Sendable {
    public var key: PickleValue
    public var value: PickleValue
    public init(key: PickleValue, value: PickleValue) {
        self.key = key
        self.value = value
    }
}

/// A parsed JSON value, as produced by `StrictJSONParser` and consumed by `CanonicalJSONWriter`.
///
/// Contract:
/// - `.int` holds a number literal that had no fraction and no exponent and fits in `Int64`
///   (so `-0` parses as `.int(0)`; write `-0.0` to keep a negative zero).
/// - `.double` holds every other number and is always finite when it comes from the parser.
///   Values built in code must also be finite, or `CanonicalJSONWriter.encode` throws.
/// - `.object` keys are Swift `String`s, so two keys that are canonically equivalent Unicode
///   (e.g. precomposed "é" and "e" + combining acute) are the same key.
/// - Equality is structural; `.int(1)` and `.double(1.0)` are different values, and
///   `.double(0.0) == .double(-0.0)` follows `Double`'s `==`.
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    /// A literal with no fraction and no exponent that fits in `Int64`.
    case int(Int64)
    /// Any other number; always finite.
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// A short name of the case, for error messages:
    /// "null", "bool", "integer", "number", "string", "array" or "object".
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "bool"
        case .int: return "integer"
        case .double: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }
}

/// One step of a path into a JSON value (shared by the parser and the writer for error paths).
enum JSONPathComponent {
    case key(String)
    case index(Int)
}

extension Array where Element == JSONPathComponent {
    /// Dotted form used in error messages: `target.lt`, `arrays.masks.shape[1]`, `""` at the root.
    var dotted: String {
        var s = ""
        for component in self {
            switch component {
            case .key(let k):
                if !s.isEmpty { s += "." }
                s += k
            case .index(let i):
                s += "[\(i)]"
            }
        }
        return s
    }
}

/// Reports built in code may meet numbers that JSON cannot hold (a NaN deviation, an infinite
/// z-score). ``JSONValue/replacingNonFiniteNumbers()`` turns them into `null` and says which they
/// were, so such a report can always be written by ``CanonicalJSONWriter``.
extension JSONValue {
    /// This value with every non-finite `.double` replaced by `.null`, and the replaced numbers:
    /// dotted path (the writer's error-path form, e.g. `data.max_dx`, `values[2]`; "" for the
    /// root) to their text, "nan", "inf" or "-inf". Finite values, and values without any
    /// non-finite number, come back unchanged (`replaced` empty). The result encodes without
    /// error: `CanonicalJSONWriter.encode(v.replacingNonFiniteNumbers().value)` never throws.
    public func replacingNonFiniteNumbers() -> (value: JSONValue, replaced: [String: String]) {
        var replaced: [String: String] = [:]
        var path: [JSONPathComponent] = []
        let value = Self.replacing(self, path: &path, replaced: &replaced)
        return (value, replaced)
    }

    /// The object `members` with every non-finite number replaced by null and, when there was
    /// one, a `non_finite` member mapping each replaced path (inside the object) to its text
    /// (an existing `non_finite` member is overwritten then).
    public static func objectReplacingNonFiniteNumbers(_ members: [String: JSONValue]) -> JSONValue {
        let r = JSONValue.object(members).replacingNonFiniteNumbers()
        guard !r.replaced.isEmpty, case var .object(o) = r.value else { return r.value }
        o["non_finite"] = .object(r.replaced.mapValues { .string($0) })
        return .object(o)
    }

    /// The text of a non-finite double in a report: "nan", "inf" or "-inf".
    public static func nonFiniteText(_ x: Double) -> String {
        x.isNaN ? "nan" : (x > 0 ? "inf" : "-inf")
    }

    private static func replacing(_ v: JSONValue, path: inout [JSONPathComponent], replaced: inout [String: String]) -> JSONValue {
        switch v {
        case let .double(x) where !x.isFinite:
            replaced[path.dotted] = nonFiniteText(x)
            return .null
        case let .array(elements):
            var out: [JSONValue] = []
            out.reserveCapacity(elements.count)
            for (i, e) in elements.enumerated() {
                path.append(.index(i))
                out.append(replacing(e, path: &path, replaced: &replaced))
                path.removeLast()
            }
            return .array(out)
        case let .object(members):
            var out: [String: JSONValue] = [:]
            for (k, e) in members {
                path.append(.key(k))
                out[k] = replacing(e, path: &path, replaced: &replaced)
                path.removeLast()
            }
            return .object(out)
        default:
            return v
        }
    }
}

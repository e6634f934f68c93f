import Foundation
import ModelFormat

/// Reading report inputs (JSON values of run and crossval files) and formatting numbers the same
/// way in every page.
public enum ReportJSON {
    public static func object(_ v: JSONValue?) -> [String: JSONValue]? {
        if case let .object(o)? = v { return o }
        return nil
    }

    public static func number(_ v: JSONValue?) -> Double? {
        switch v {
        case let .int(i)?: return Double(i)
        case let .double(d)?: return d
        default: return nil
        }
    }

    public static func fmt(_ v: Double?) -> String {
        guard let v else { return "-" }
        return String(format: "%.6g", v)
    }

    /// Compact JSON text of a value (strings bare).
    public static func text(_ v: JSONValue) -> String {
        switch v {
        case .null: return "null"
        case let .bool(b): return b ? "true" : "false"
        case let .int(i): return String(i)
        case let .double(d): return fmt(d)
        case let .string(s): return s
        case let .array(a): return "[" + a.map(text).joined(separator: ", ") + "]"
        case let .object(o): return "{" + o.sorted { $0.key < $1.key }.map { "\($0.key): \(text($0.value))" }.joined(separator: ", ") + "}"
        }
    }
}

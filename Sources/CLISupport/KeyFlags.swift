/// Command-line flags generated from a table of configuration keys (no `@Option` per key):
/// `--flag VALUE` or `--flag=VALUE`, each flag mapped to its key name; a key given twice keeps
/// its last value. Used through `@Argument(parsing: .allUnrecognized)`, so everything the
/// command does not declare arrives here; anything not in the table is a ``UsageError``.
public enum KeyFlags {
    /// `(key, text)` for every flag given, in the order of `keyOrder`.
    /// - Parameters:
    ///   - arguments: what the command did not recognise.
    ///   - spellings: every accepted flag (with its `--`), visible or hidden, to its key name.
    ///   - keyOrder: the key names in table order.
    public static func parse(_ arguments: [String], spellings: [String: String], keyOrder: [String]) throws -> [(key: String, text: String)] {
        var values: [String: String] = [:]
        var i = 0
        while i < arguments.count {
            let argument = arguments[i]
            guard argument.hasPrefix("--") else { throw UsageError("unexpected argument '\(argument)'") }
            var flag = argument
            var value: String?
            if let eq = argument.firstIndex(of: "=") {
                flag = String(argument[..<eq])
                value = String(argument[argument.index(after: eq)...])
            }
            guard let key = spellings[flag] else {
                throw UsageError("unknown option '\(flag)' (every option, configuration keys included, is listed in --help)")
            }
            if value == nil {
                guard i + 1 < arguments.count else { throw UsageError("\(flag) needs a value") }
                i += 1
                value = arguments[i]
            }
            values[key] = value
            i += 1
        }
        return keyOrder.compactMap { key in values[key].map { (key, $0) } }
    }
}

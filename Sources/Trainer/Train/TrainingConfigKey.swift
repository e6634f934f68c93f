import ModelFormat

/// One training configuration key: its JSON name, command-line flag, type, allowed range and
/// meaning, and how it reads and writes a ``TrainingConfig``. The table
/// ``TrainingConfig/keyTable`` is the one place a key is declared: JSON in and out, the
/// `l2hmc-train` flags and their `--help` text, and the keys refused on `--resume` are all made
/// from it.
public struct TrainingConfigKey: Sendable {
    /// The snake_case JSON name (`n_lf`).
    public let name: String
    /// The command-line spelling (`--nlf`): the name with `-` for `_`, unless stated otherwise.
    public let flag: String
    /// Older spellings still accepted on the command line but not shown (`--n-lf`).
    public let hiddenFlags: [String]
    /// What the value is (`integer`, `number`, `one of relu, tanh, ...`).
    public let type: String
    /// The values accepted (checked by ``TrainingConfig/validate()``), in words.
    public let range: String
    /// What the key does.
    public let meaning: String
    /// Whether `--resume` accepts it (`steps`, which extends the run, and `threads`).
    public let allowedOnResume: Bool
    /// Whether it is part of the recorded configuration (checkpoint `config`, model provenance):
    /// false for execution settings that never change the numbers (`threads`).
    public let recorded: Bool
    let read: @Sendable (TrainingConfig) -> JSONValue
    let write: @Sendable (inout TrainingConfig, TrainingConfigValue) throws -> Void

    /// The value of a default configuration.
    public var defaultValue: JSONValue { read(TrainingConfig()) }

    /// This key's value in `config`, as written to JSON.
    public func value(in config: TrainingConfig) -> JSONValue { read(config) }
}

/// A value being set for `key`, with the conversions the keys use; each error names the key and
/// what was expected.
struct TrainingConfigValue {
    let key: String
    let value: JSONValue

    func fail(_ expected: String) -> TrainingConfig.Invalid {
        TrainingConfig.Invalid(key: key, reason: "must be \(expected) (got \(describe(value)))")
    }
    func number() throws -> Double {
        switch value { case let .double(d): return d; case let .int(i): return Double(i); default: throw fail("a number") }
    }
    func int() throws -> Int { guard case let .int(i) = value, let x = Int(exactly: i) else { throw fail("an integer") }; return x }
    func bool() throws -> Bool { guard case let .bool(b) = value else { throw fail("true or false") }; return b }
    func string() throws -> String { guard case let .string(s) = value else { throw fail("a string") }; return s }
    func ints() throws -> [Int] {
        if case let .int(i) = value { return [Int(i)] }
        guard case let .array(a) = value else { throw fail("a list of integers") }
        return try a.map { guard case let .int(i) = $0 else { throw fail("a list of integers") }; return Int(i) }
    }
    func numbers(_ x: JSONValue) throws -> [Double] {
        guard case let .array(a) = x else { throw fail("a list of numbers") }
        return try a.map { switch $0 { case let .double(d): return d; case let .int(i): return Double(i); default: throw fail("a list of numbers") } }
    }
    func choice<E: RawRepresentable & CaseIterable>(_: E.Type) throws -> E where E.RawValue == String {
        let s = try string()
        guard let e = E(rawValue: s) else { throw fail("one of \(E.allCases.map(\.rawValue).joined(separator: ", "))") }
        return e
    }
}

extension TrainingConfigKey {
    init(_ name: String, flag: String? = nil, hiddenFlags: [String] = [], type: String, range: String, meaning: String,
         allowedOnResume: Bool = false, recorded: Bool = true,
         read: @escaping @Sendable (TrainingConfig) -> JSONValue,
         write: @escaping @Sendable (inout TrainingConfig, TrainingConfigValue) throws -> Void) {
        self.name = name
        self.flag = flag ?? "--" + name.replacingOccurrences(of: "_", with: "-")
        self.hiddenFlags = hiddenFlags
        self.type = type; self.range = range; self.meaning = meaning; self.allowedOnResume = allowedOnResume
        self.recorded = recorded
        self.read = read; self.write = write
    }

    static func number(_ name: String, _ path: WritableKeyPath<TrainingConfig, Double> & Sendable, range: String, meaning: String) -> Self {
        Self(name, type: "number", range: range, meaning: meaning,
             read: { .double($0[keyPath: path]) }, write: { $0[keyPath: path] = try $1.number() })
    }

    static func integer(_ name: String, _ path: WritableKeyPath<TrainingConfig, Int> & Sendable, flag: String? = nil, hiddenFlags: [String] = [],
                        range: String, meaning: String, allowedOnResume: Bool = false) -> Self {
        Self(name, flag: flag, hiddenFlags: hiddenFlags, type: "integer", range: range, meaning: meaning, allowedOnResume: allowedOnResume,
             read: { .int(Int64($0[keyPath: path])) }, write: { $0[keyPath: path] = try $1.int() })
    }

    static func boolean(_ name: String, _ path: WritableKeyPath<TrainingConfig, Bool> & Sendable, meaning: String) -> Self {
        Self(name, type: "boolean", range: "true or false", meaning: meaning,
             read: { .bool($0[keyPath: path]) }, write: { $0[keyPath: path] = try $1.bool() })
    }

    static func choice<E: RawRepresentable & CaseIterable & Sendable>(_ name: String, _ path: WritableKeyPath<TrainingConfig, E> & Sendable,
                                                                     meaning: String) -> Self where E.RawValue == String {
        let cases = E.allCases.map(\.rawValue).joined(separator: ", ")
        return Self(name, type: "string", range: "one of \(cases)", meaning: meaning,
                    read: { .string($0[keyPath: path].rawValue) }, write: { $0[keyPath: path] = try $1.choice(E.self) })
    }
}

func describe(_ v: JSONValue) -> String {
    switch v {
    case let .string(s): return "\"\(s)\""
    case let .int(i): return "\(i)"
    case let .double(d): return "\(d)"
    case let .bool(b): return "\(b)"
    case .null: return "null"
    case .array: return "a list"
    case .object: return "an object"
    }
}

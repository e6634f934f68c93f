import Foundation
import ModelFormat

/// JSON form of a training configuration: one flat object whose keys are the snake_case names
/// of ``keyTable`` (the `l2hmc-train` flags are the same names with '-' for '_', see the table). Unknown keys, wrong
/// types and out-of-range values are errors naming the key.
extension TrainingConfig {
    /// Reads a configuration file's bytes over the defaults.
    public init(jsonBytes: [UInt8]) throws {
        self.init()
        let value: JSONValue
        do { value = try StrictJSONParser.parse(jsonBytes) } catch {
            throw Invalid(key: "(file)", reason: "not valid JSON: \(error)")
        }
        guard case let .object(o) = value else { throw Invalid(key: "(file)", reason: "must be a JSON object") }
        for (key, v) in o.sorted(by: { $0.key < $1.key }) { try set(key, v) }
    }

    /// Sets one key from a command-line text: JSON when it parses ("0.1", "[64, 64]", "true"),
    /// a comma-separated list of numbers ("64,64"), or else a plain string ("u1", "8x8").
    public mutating func set(_ key: String, text: String) throws {
        if let v = try? StrictJSONParser.parse(Array(text.utf8)) { return try set(key, v) }
        let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        if parts.count > 1, parts.allSatisfy({ Double($0) != nil }) {
            return try set(key, .array(parts.map { Int64($0).map { JSONValue.int($0) } ?? .double(Double($0) ?? .nan) }))
        }
        try set(key, .string(text))
    }

    /// Sets one key from a JSON value (see ``keyTable``).
    public mutating func set(_ key: String, _ v: JSONValue) throws {
        guard let entry = Self.key(named: key) else {
            throw Invalid(key: key, reason: "unknown key (known keys: \(Self.keys.joined(separator: ", ")))")
        }
        try entry.write(&self, TrainingConfigValue(key: key, value: v))
    }

    /// The configuration as JSON (every key, canonical values).
    public func json() -> JSONValue {
        .object(Dictionary(uniqueKeysWithValues: Self.keyTable.map { ($0.name, $0.read(self)) }))
    }

    /// The recorded configuration (checkpoint `config` attribute, model provenance): every key
    /// that can change the numbers, without execution settings such as `threads`, so outputs
    /// are byte-identical for every thread count.
    public func recordedJSON() -> JSONValue {
        .object(Dictionary(uniqueKeysWithValues: Self.keyTable.filter(\.recorded).map { ($0.name, $0.read(self)) }))
    }
}

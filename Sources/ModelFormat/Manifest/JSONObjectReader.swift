/// Reads one JSON object of the manifest strictly: every field is taken by name with its type
/// checked, and ``finish()`` rejects any key that was not taken (keys starting with `x-` are
/// extensions and are always allowed). Errors carry the dotted path of the offending value.
struct JSONObjectReader {
    let path: String
    private let object: [String: JSONValue]
    private var taken: Set<String> = []
    /// When true (a file of a newer minor version), unknown keys are ignored instead of rejected.
    let tolerateUnknownKeys: Bool
    /// `x-` extension keys are allowed only in the root object (where they are kept verbatim).
    var allowsExtensions = false

    init(_ value: JSONValue, path: String, tolerateUnknownKeys: Bool) throws {
        guard case let .object(object) = value else {
            throw L2ZError.manifestWrongType(path: path.isEmpty ? "(root)" : path, expected: "an object", actual: value.typeName)
        }
        self.object = object
        self.path = path
        self.tolerateUnknownKeys = tolerateUnknownKeys
    }

    func childPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    mutating func optional(_ key: String) -> JSONValue? {
        taken.insert(key)
        return object[key]
    }

    mutating func required(_ key: String) throws -> JSONValue {
        guard let v = optional(key) else { throw L2ZError.manifestMissingField(path: childPath(key)) }
        return v
    }

    mutating func string(_ key: String) throws -> String {
        try JSONObjectReader.string(try required(key), path: childPath(key))
    }

    mutating func int(_ key: String, min: Int? = nil) throws -> Int {
        try JSONObjectReader.int(try required(key), path: childPath(key), min: min)
    }

    mutating func double(_ key: String) throws -> Double {
        try JSONObjectReader.double(try required(key), path: childPath(key))
    }

    mutating func bool(_ key: String) throws -> Bool {
        let v = try required(key)
        guard case let .bool(b) = v else { throw L2ZError.manifestWrongType(path: childPath(key), expected: "a boolean", actual: v.typeName) }
        return b
    }

    mutating func array(_ key: String) throws -> [JSONValue] {
        let v = try required(key)
        guard case let .array(a) = v else { throw L2ZError.manifestWrongType(path: childPath(key), expected: "an array", actual: v.typeName) }
        return a
    }

    mutating func object(_ key: String) throws -> JSONObjectReader {
        try JSONObjectReader(try required(key), path: childPath(key), tolerateUnknownKeys: tolerateUnknownKeys)
    }

    /// One of a fixed set of string values (an enum's raw values).
    mutating func choice<E: RawRepresentable & CaseIterable>(_ key: String, _ type: E.Type) throws -> E where E.RawValue == String {
        let s = try string(key)
        guard let e = E(rawValue: s) else {
            let allowed = E.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
            throw L2ZError.manifestInvalidValue(path: childPath(key), expected: "one of \(allowed)", actual: "\"\(s)\"")
        }
        return e
    }

    /// Extension keys (`x-...`) of this object, kept verbatim.
    mutating func extensions() -> [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        for (k, v) in object where k.hasPrefix("x-") { out[k] = v; taken.insert(k) }
        return out
    }

    /// Rejects keys that were never read (unless they are `x-` extensions or unknown keys are tolerated).
    func finish() throws {
        guard !tolerateUnknownKeys else { return }
        for key in object.keys.sorted() where !taken.contains(key) && !(allowsExtensions && key.hasPrefix("x-")) {
            throw L2ZError.manifestUnknownKey(path: childPath(key))
        }
    }

    static func string(_ v: JSONValue, path: String) throws -> String {
        guard case let .string(s) = v else { throw L2ZError.manifestWrongType(path: path, expected: "a string", actual: v.typeName) }
        return s
    }

    static func int(_ v: JSONValue, path: String, min: Int? = nil) throws -> Int {
        guard case let .int(i) = v else { throw L2ZError.manifestWrongType(path: path, expected: "an integer", actual: v.typeName) }
        guard let value = Int(exactly: i) else { throw L2ZError.manifestNumberOutOfRange(path: path, reason: "\(i)") }
        if let min, value < min {
            throw L2ZError.manifestInvalidValue(path: path, expected: "an integer >= \(min)", actual: "\(value)")
        }
        return value
    }

    /// A number; integers are accepted and converted.
    static func double(_ v: JSONValue, path: String) throws -> Double {
        switch v {
        case let .double(d): return d
        case let .int(i): return Double(i)
        default: throw L2ZError.manifestWrongType(path: path, expected: "a number", actual: v.typeName)
        }
    }

    static func doubles(_ v: JSONValue, path: String) throws -> [Double] {
        guard case let .array(a) = v else { throw L2ZError.manifestWrongType(path: path, expected: "an array of numbers", actual: v.typeName) }
        return try a.enumerated().map { try double($0.element, path: "\(path)[\($0.offset)]") }
    }

    static func ints(_ v: JSONValue, path: String) throws -> [Int] {
        guard case let .array(a) = v else { throw L2ZError.manifestWrongType(path: path, expected: "an array of integers", actual: v.typeName) }
        return try a.enumerated().map { try int($0.element, path: "\(path)[\($0.offset)]") }
    }
}

import ModelFormat

/// One check of `crossval`: its name, verdict (with the reason for anything but a pass), the
/// human-readable detail printed in the table, and the numbers behind it for the JSON report.
public struct CrossvalCheck: Sendable {
    public let name: String
    public let verdict: CrossvalVerdict
    public let detail: String
    public let data: [String: JSONValue]

    public init(name: String, verdict: CrossvalVerdict, detail: String, data: [String: JSONValue]) {
        self.name = name; self.verdict = verdict; self.detail = detail; self.data = data
    }
}

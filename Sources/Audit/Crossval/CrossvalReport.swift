import Foundation
import ModelFormat

/// The outputs of a `crossval` audit: the JSON report and the verdict table.
public enum CrossvalReport {
    /// The report: model, overall verdict, whether it passed (exit status 0), the counts of each
    /// verdict, the wall-clock seconds, the settings and every check with its result, reason,
    /// detail and data.
    ///
    /// JSON has no NaN or infinity, and the report is always writable: a non-finite number in a
    /// check's data is written as null, and the check then has a `non_finite` object mapping its
    /// path inside `data` (e.g. `max_dx`) to "nan", "inf" or "-inf" (the check's reason says
    /// what it means for the verdict). Checks without one have no `non_finite` member.
    public static func json(_ checks: [CrossvalCheck], modelPath: String, settings: CrossvalSettings, strict: Bool, seconds: Double) -> JSONValue {
        let tally = CrossvalTally(checks.map(\.verdict))
        return .object([
            "model": .string(modelPath),
            "verdict": .string(tally.overall.lowercased()),
            "passed": .bool(tally.exitStatus(strict: strict) == 0),
            "strict": .bool(strict),
            "counts": .object(["pass": .int(Int64(tally.pass)), "fail": .int(Int64(tally.fail)),
                               "inconclusive": .int(Int64(tally.inconclusive)), "skipped": .int(Int64(tally.skipped))]),
            "seconds": seconds.isFinite ? .double(seconds) : .null,
            "settings": .object(settingsJSON(settings)),
            "checks": .array(checks.map(checkJSON)),
        ])
    }

    /// The settings of the report (`hmc_jitter` only when set).
    static func settingsJSON(_ settings: CrossvalSettings) -> [String: JSONValue] {
        var o: [String: JSONValue] = ["chains": .int(Int64(settings.chains)), "trajectories": .int(Int64(settings.trajectories)),
                                      "seed": .string(String(settings.seed)),
                                      "z_threshold": .double(settings.zThreshold), "hmc_eps": .double(settings.hmcEps)]
        if settings.hmcJitter != 0 { o["hmc_jitter"] = .double(settings.hmcJitter) }
        return o
    }

    /// One entry of `checks` (see ``json(_:modelPath:settings:strict:seconds:)``).
    static func checkJSON(_ c: CrossvalCheck) -> JSONValue {
        let data = JSONValue.object(c.data).replacingNonFiniteNumbers()
        var o: [String: JSONValue] = ["name": .string(c.name), "result": .string(c.verdict.name), "reason": c.verdict.reason.map { .string($0) } ?? .null,
                                      "detail": .string(c.detail), "data": data.value]
        if !data.replaced.isEmpty { o["non_finite"] = .object(data.replaced.mapValues { .string($0) }) }
        return .object(o)
    }

    /// The progress line of one check (printed on stderr as each check completes).
    public static func progressLine(_ c: CrossvalCheck) -> String { "  \(c.verdict.tableLabel)  \(c.name): \(c.detail)\n" }

    /// The table: a header line, one line per check (name, verdict, detail, in aligned columns),
    /// and the verdict line with the counts, the wall-clock seconds and the report path.
    public static func table(_ checks: [CrossvalCheck], modelPath: String, strict: Bool, seconds: Double, reportPath: String) -> [String] {
        let tally = CrossvalTally(checks.map(\.verdict))
        var lines = ["crossval    \(modelPath)"]
        let width = max(6, checks.map(\.name.count).max() ?? 6)
        let verdictWidth = checks.map(\.verdict.tableLabel.count).max() ?? 4
        for c in checks {
            lines.append(c.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  "
                         + c.verdict.tableLabel.padding(toLength: verdictWidth, withPad: " ", startingAt: 0) + "  " + c.detail)
        }
        let strictNote = strict && tally.fail == 0 && tally.inconclusive > 0 ? ", a failure under --strict" : ""
        lines.append(String(format: "verdict     %@%@ (%@; %.1f s); report %@", tally.overall, strictNote, tally.summary, seconds, reportPath))
        return lines
    }
}

/// The outcome of one `crossval` check, with the reason for anything but a pass.
///
/// - `pass`: the check ran and met its limit;
/// - `fail`: the check ran and missed its limit, or its input is broken (exit status 1);
/// - `inconclusive`: the check ran but its numbers cannot decide (a statistics run that is too
///   short for its autocorrelation window, or not equilibrated, or whose z-score is undefined:
///   zero variance or a non-finite number, see `ZScore`); a failure only under `--strict`;
/// - `skipped`: the check does not apply to this model (never a failure).
public enum CrossvalVerdict: Equatable, Sendable {
    case pass
    case fail(String)
    case inconclusive(String)
    case skipped(String)

    /// The machine-readable name used in the JSON report and the counts.
    public var name: String {
        switch self {
        case .pass: return "pass"
        case .fail: return "fail"
        case .inconclusive: return "inconclusive"
        case .skipped: return "skipped"
        }
    }

    /// The verdict column of the table (failures in capitals).
    public var tableLabel: String {
        switch self {
        case .fail: return "FAIL"
        default: return name
        }
    }

    /// Why the check did not pass; nil for a pass.
    public var reason: String? {
        switch self {
        case .pass: return nil
        case let .fail(r), let .inconclusive(r), let .skipped(r): return r
        }
    }
}

/// How many checks ended with each verdict, the overall verdict and the exit status.
///
/// Overall: `FAIL` when any check failed, otherwise `INCONCLUSIVE` when any was inconclusive,
/// otherwise `PASS` (skipped checks do not count against a pass). Exit status 1 on any failure,
/// and with `strict` also on any inconclusive check; 0 otherwise.
public struct CrossvalTally: Equatable, Sendable {
    public var pass = 0
    public var fail = 0
    public var inconclusive = 0
    public var skipped = 0

    public init(_ verdicts: [CrossvalVerdict]) {
        for v in verdicts {
            switch v {
            case .pass: pass += 1
            case .fail: fail += 1
            case .inconclusive: inconclusive += 1
            case .skipped: skipped += 1
            }
        }
    }

    public var total: Int { pass + fail + inconclusive + skipped }

    public var overall: String { fail > 0 ? "FAIL" : inconclusive > 0 ? "INCONCLUSIVE" : "PASS" }

    public func exitStatus(strict: Bool) -> Int32 { fail > 0 || (strict && inconclusive > 0) ? 1 : 0 }

    /// `13 checks: 5 pass, 0 fail, 8 inconclusive, 0 skipped`.
    public var summary: String { "\(total) checks: \(pass) pass, \(fail) fail, \(inconclusive) inconclusive, \(skipped) skipped" }
}

import Foundation

/// The substitution table `DocsExamplesTests` applies to every example before running it (only
/// in the test: the docs keep the lengths a user wants). Lengths only shrink; nothing else of the
/// command changes.
///
/// | in the docs | in the test | why |
/// |---|---|---|
/// | `.build/release`, `.build/debug` (also in `R=.build/release`) | the debug products directory (`CLI.productsDirectory`) | the test runs the fresh debug build; bare `l2hmc-*` names find it first on PATH |
/// | `--trajectories N` | `max(N / 50, 20)` | dividing keeps a run and its `--resume` total in order (2000, then 4000: 40, then 80) |
/// | `--chains N` | `min(N, 64)` | 64 is `l2hmc-run`'s default; two tiles of 32 keep `mpirun -np 2` valid |
/// | `--steps N` | `min(N, 5)` | training steps |
/// | `l2hmc-run` sampling (no subcommand, or `run`) or `crossval`, with neither `--trajectories` nor `--resume` | `--trajectories 20` after the (sub)command word | the defaults 1000 (crossval: 300) divided by 50, at least 20 |
/// | `l2hmc-train` training (no subcommand) with neither `--steps` nor `--resume` | `--steps 5` after the program word | a flag wins over a `--config` file's `steps` |
enum DocsShortening {
    static let trajectoryDivisor = 50
    static let minimumTrajectories = 20
    static let maximumChains = 64
    static let maximumSteps = 5

    static func shortened(_ command: String, products: String) -> String {
        var s = replacingBuildPaths(command, products: products)
        s = cappingNumbers(s)
        s = addingDefaults(s)
        return s
    }

    /// `.build/release` and `.build/debug` as a path (not inside another name) -> `products`.
    static func replacingBuildPaths(_ s: String, products: String) -> String {
        let pattern = #"(?<![A-Za-z0-9_./-])\.build/(release|debug)(?=/|\s|$|")"#
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return s }
        let range = NSRange(s.startIndex..., in: s)
        return regex.stringByReplacingMatches(in: s, range: range, withTemplate: NSRegularExpression.escapedTemplate(for: products))
    }

    /// `--trajectories N`, `--chains N`, `--steps N` (or `--flag=N`) shortened per the table.
    static func cappingNumbers(_ s: String) -> String {
        guard let regex = try? NSRegularExpression(pattern: #"--(trajectories|chains|steps)([ =])([0-9]+)\b"#) else { return s }
        var result = s
        let matches = regex.matches(in: s, range: NSRange(s.startIndex..., in: s))
        for match in matches.reversed() {
            guard let flagRange = Range(match.range(at: 1), in: s), let numberRange = Range(match.range(at: 3), in: s),
                  let value = Int(s[numberRange]) else { continue }
            let capped: Int
            switch s[flagRange] {
            case "trajectories": capped = max(value / trajectoryDivisor, minimumTrajectories)
            case "chains": capped = min(value, maximumChains)
            default: capped = min(value, maximumSteps)
            }
            // `s` and `result` agree on every index before this match (later matches go first).
            guard let target = Range(match.range(at: 3), in: result) else { continue }
            result.replaceSubrange(target, with: String(capped))
        }
        return result
    }

    /// The length flags the table adds to runs that rely on a long default.
    static func addingDefaults(_ s: String) -> String {
        var insertions: [(offset: Int, text: String)] = []
        for segment in ShellText.segments(s) {
            let words = ShellText.words(s[segment])
            let texts = words.map(\.text)
            guard let k = texts.firstIndex(where: { isProgram($0, "l2hmc-run") || isProgram($0, "l2hmc-train") }) else { continue }
            let isRun = isProgram(texts[k], "l2hmc-run")
            var anchor = k
            if k + 1 < texts.count && !texts[k + 1].hasPrefix("-") {
                // A subcommand: only `run` and `crossval` sample (l2hmc-train's subcommands never train).
                guard isRun && (texts[k + 1] == "run" || texts[k + 1] == "crossval") else { continue }
                anchor = k + 1
            }
            let flag = isRun ? "--trajectories" : "--steps"
            let present = texts[(k + 1)...].contains { word in
                word == flag || word.hasPrefix(flag + "=") || word == "--resume" || word.hasPrefix("--resume=") || word == "--help" || word == "-h"
            }
            guard !present else { continue }
            let text = isRun ? " --trajectories \(max(1000 / trajectoryDivisor, minimumTrajectories))" : " --steps \(maximumSteps)"
            insertions.append((s.distance(from: s.startIndex, to: words[anchor].range.upperBound), text))
        }
        var result = s
        for insertion in insertions.sorted(by: { $0.offset > $1.offset }) {
            result.insert(contentsOf: insertion.text, at: result.index(result.startIndex, offsetBy: insertion.offset))
        }
        return result
    }

    private static func isProgram(_ word: String, _ name: String) -> Bool {
        word == name || word.hasSuffix("/" + name)
    }
}

import Foundation

/// The shell examples of a Markdown document, as `DocsExamplesTests` runs them.
///
/// What counts as an example:
/// - every line of a fenced block opened with ```` ```sh ````, ```` ```bash ```` or
///   ```` ```console ```` (in `console` blocks only the lines starting with `$ `, the prompt
///   removed; the other lines are output);
/// - a line ending in `\` continues on the next line (joined with one space);
/// - blank lines and lines starting with `#` are not commands; a trailing ` # comment` stays part
///   of the command text (bash ignores it) and is split off in `Example.command`.
///
/// The one marking convention: an HTML comment (invisible in rendered Markdown), from the first
/// column, on the line right before the fence of a shell block (no blank line in between):
///
///     <!-- docs-test: skip REASON -->      the block is not run (placeholders, system setup, ...)
///     <!-- docs-test: exit N REASON -->    every command of the block must exit with status N
///
/// REASON is required and is printed by the test. A `docs-test:` marker anywhere else, or with
/// another directive, is an error, so a marker cannot silently stop applying.
struct DocsExample: Equatable {
    enum Kind: Equatable {
        /// Run it and compare its exit status with `expectedStatus`.
        case run
        /// Only variable assignments (`R=.build/release`, `export A=1 B=2`): kept, in document
        /// order, as the prelude of every later example of the same file.
        case setup
        /// Inside a block marked `docs-test: skip REASON`.
        case skip(reason: String)
    }

    /// 1-based line of the example's first line in the document.
    let line: Int
    /// The command as written, continuations joined, with any trailing comment.
    let text: String
    let kind: Kind
    let expectedStatus: Int32

    /// `text` without its trailing ` # comment` (quote-aware).
    var command: String { ShellText.strippingComment(text) }
}

enum DocsExampleError: Error, CustomStringConvertible, Equatable {
    case markerWithoutBlock(line: Int)
    case unknownDirective(line: Int, String)
    case missingReason(line: Int)
    case unclosedFence(line: Int)

    var description: String {
        switch self {
        case .markerWithoutBlock(let line):
            return "line \(line): a docs-test marker must be directly followed by a ```sh, ```bash or ```console fence"
        case .unknownDirective(let line, let text):
            return "line \(line): unknown docs-test directive '\(text)' (use 'skip REASON' or 'exit N REASON')"
        case .missingReason(let line):
            return "line \(line): a docs-test marker needs a reason"
        case .unclosedFence(let line):
            return "line \(line): code fence never closed"
        }
    }
}

enum DocsExampleExtractor {
    static let shellLanguages: Set<String> = ["sh", "bash", "console"]

    /// The examples of `markdown`, in document order.
    static func examples(in markdown: String) throws -> [DocsExample] {
        let lines = markdown.components(separatedBy: "\n")
        var result: [DocsExample] = []
        var pendingMarker: (line: Int, kind: DocsExample.Kind, status: Int32)?
        var index = 0
        while index < lines.count {
            let line = lines[index]
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if let marker = try parseMarker(line, line: index + 1) {
                if pendingMarker != nil { throw DocsExampleError.markerWithoutBlock(line: pendingMarker?.line ?? index + 1) }
                pendingMarker = (index + 1, marker.kind, marker.status)
                index += 1
                continue
            }
            guard trimmed.hasPrefix("```") else {
                if let marker = pendingMarker { throw DocsExampleError.markerWithoutBlock(line: marker.line) }
                index += 1
                continue
            }
            // A fence: find its end.
            let language = String(trimmed.dropFirst(3)).trimmingCharacters(in: .whitespaces).lowercased()
            let open = index
            var close = index + 1
            while close < lines.count && !lines[close].trimmingCharacters(in: .whitespaces).hasPrefix("```") { close += 1 }
            guard close < lines.count else { throw DocsExampleError.unclosedFence(line: open + 1) }
            let marker = pendingMarker
            pendingMarker = nil
            guard shellLanguages.contains(language) else {
                if let marker { throw DocsExampleError.markerWithoutBlock(line: marker.line) }
                index = close + 1
                continue
            }
            let body = Array(lines[(open + 1)..<close])
            for (offset, text) in commands(in: body, console: language == "console") {
                let kind: DocsExample.Kind
                if let marker, case .skip = marker.kind { kind = marker.kind } else if ShellText.isAssignmentOnly(text) { kind = .setup } else { kind = .run }
                result.append(DocsExample(line: open + 2 + offset, text: text, kind: kind, expectedStatus: marker?.status ?? 0))
            }
            index = close + 1
        }
        if let marker = pendingMarker { throw DocsExampleError.markerWithoutBlock(line: marker.line) }
        return result
    }

    /// The commands of a block's lines: (offset of the first line, joined text).
    static func commands(in body: [String], console: Bool) -> [(Int, String)] {
        var result: [(Int, String)] = []
        var i = 0
        while i < body.count {
            var text = body[i].trimmingCharacters(in: .whitespaces)
            let first = i
            if console {
                guard text.hasPrefix("$ ") else { i += 1; continue }
                text = String(text.dropFirst(2))
            }
            while text.hasSuffix("\\") && i + 1 < body.count {
                i += 1
                text = String(text.dropLast()).trimmingCharacters(in: .whitespaces) + " " + body[i].trimmingCharacters(in: .whitespaces)
            }
            i += 1
            if text.isEmpty || text.hasPrefix("#") { continue }
            result.append((first, text))
        }
        return result
    }

    /// `<!-- docs-test: DIRECTIVE -->` on its own line from the first column (an indented one is
    /// an indented code block, e.g. the convention's own description), or nil for any other line.
    static func parseMarker(_ text: String, line: Int) throws -> (kind: DocsExample.Kind, status: Int32)? {
        guard text.hasPrefix("<!--"), text.contains("docs-test:") else { return nil }
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasSuffix("-->"), let range = trimmed.range(of: "docs-test:") else {
            throw DocsExampleError.unknownDirective(line: line, trimmed)
        }
        let directive = trimmed[range.upperBound...].dropLast(3).trimmingCharacters(in: .whitespaces)
        let words = directive.split(separator: " ", maxSplits: 1).map(String.init)
        switch words.first {
        case "skip":
            let reason = words.count > 1 ? words[1].trimmingCharacters(in: .whitespaces) : ""
            guard !reason.isEmpty else { throw DocsExampleError.missingReason(line: line) }
            return (.skip(reason: reason), 0)
        case "exit":
            let rest = words.count > 1 ? words[1].split(separator: " ", maxSplits: 1).map(String.init) : []
            guard let code = rest.first.flatMap({ Int32($0) }), (0...255).contains(code) else {
                throw DocsExampleError.unknownDirective(line: line, directive)
            }
            guard rest.count > 1, !rest[1].trimmingCharacters(in: .whitespaces).isEmpty else { throw DocsExampleError.missingReason(line: line) }
            return (.run, code)
        default:
            throw DocsExampleError.unknownDirective(line: line, directive)
        }
    }
}

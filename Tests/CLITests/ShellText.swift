import Foundation

/// Just enough shell lexing for the docs test: words with their ranges (quotes and backslashes
/// respected), comments, and the split of a command line at `&&`, `||`, `;` and `|`.
enum ShellText {
    struct Word {
        let text: String
        let range: Range<String.Index>
    }

    /// The words of `s` up to a comment (separators are not special here: split with `segments`
    /// first). The ranges are `s`'s indices, so for a slice they index its base string.
    static func words(_ s: Substring) -> [Word] {
        var result: [Word] = []
        var i = s.startIndex
        while i < s.endIndex {
            while i < s.endIndex && s[i].isWhitespace { i = s.index(after: i) }
            guard i < s.endIndex else { break }
            if s[i] == "#" { break }
            let start = i
            var text = ""
            var quote: Character?
            while i < s.endIndex {
                let c = s[i]
                if let q = quote {
                    if c == q { quote = nil } else { text.append(c) }
                } else if c == "'" || c == "\"" {
                    quote = c
                } else if c == "\\" {
                    let next = s.index(after: i)
                    if next < s.endIndex { text.append(s[next]); i = next }
                } else if c.isWhitespace {
                    break
                } else {
                    text.append(c)
                }
                i = s.index(after: i)
            }
            result.append(Word(text: text, range: start..<i))
        }
        return result
    }

    static func words(_ s: String) -> [Word] { words(s[...]) }

    /// `s` without a trailing comment: a `#` starting a word outside quotes.
    static func strippingComment(_ s: String) -> String {
        var quote: Character?
        var previous: Character = " "
        for i in s.indices {
            let c = s[i]
            if let q = quote {
                if c == q { quote = nil }
            } else if c == "'" || c == "\"" {
                quote = c
            } else if c == "#" && previous.isWhitespace {
                return String(s[..<i]).trimmingCharacters(in: .whitespaces)
            }
            previous = c
        }
        return s.trimmingCharacters(in: .whitespaces)
    }

    /// The ranges of the simple commands of `s` (split at `&&`, `||`, `;`, `|` outside quotes).
    static func segments(_ s: String) -> [Range<String.Index>] {
        var result: [Range<String.Index>] = []
        var quote: Character?
        var start = s.startIndex
        var i = s.startIndex
        while i < s.endIndex {
            let c = s[i]
            if let q = quote {
                if c == q { quote = nil }
            } else if c == "'" || c == "\"" {
                quote = c
            } else if c == ";" || c == "|" || (c == "&" && !isRedirect(s, at: i)) {
                result.append(start..<i)
                var j = s.index(after: i)
                if j < s.endIndex && (s[j] == "|" || s[j] == "&") && s[j] == c { j = s.index(after: j) }
                start = j
                i = j
                continue
            }
            i = s.index(after: i)
        }
        result.append(start..<s.endIndex)
        return result
    }

    /// `&` in `2>&1`, `>&file`, `&>file` or `<&3` is part of a redirection, not a separator.
    private static func isRedirect(_ s: String, at i: String.Index) -> Bool {
        let next = s.index(after: i)
        if next < s.endIndex && s[next] == ">" { return true }
        guard i > s.startIndex else { return false }
        let before = s[s.index(before: i)]
        return before == ">" || before == "<"
    }

    /// True when every word is `NAME=value`, optionally after `export`.
    static func isAssignmentOnly(_ line: String) -> Bool {
        var ws = words(line).map(\.text)
        if ws.first == "export" { ws.removeFirst() }
        guard !ws.isEmpty else { return false }
        return ws.allSatisfy { word in
            guard let eq = word.firstIndex(of: "="), eq != word.startIndex else { return false }
            let name = word[..<eq]
            return name.allSatisfy { $0 == "_" || $0.isASCII && ($0.isLetter || $0.isNumber) } && !(name.first?.isNumber ?? true)
        }
    }
}

/// The grammar of array names: `segment(.segment)*`, each segment `[a-z0-9_]+`, the first
/// starting with a letter; at most 128 characters. Member names are the array name plus `.npy`.
/// Lower case only, so names are unique after case folding; no `/`, `\`, `..` or control bytes
/// can occur, so no name escapes the archive.
public enum ArrayName {
    public static let maxLength = 128

    public static func validate(_ name: String) throws {
        func fail(_ reason: String) -> L2ZError { .invalidArrayName(name: name, reason: reason) }
        guard !name.isEmpty else { throw fail("empty") }
        guard name.utf8.count <= maxLength else { throw fail("longer than \(maxLength) bytes") }
        let segments = name.split(separator: ".", omittingEmptySubsequences: false)
        for seg in segments {
            guard !seg.isEmpty else { throw fail("empty segment (leading, trailing or doubled '.')") }
            for u in seg.utf8 where !(u >= 0x61 && u <= 0x7A || u >= 0x30 && u <= 0x39 || u == 0x5F) {
                throw fail("character \(u < 0x20 || u > 0x7E ? "byte \(u)" : "'\(Character(UnicodeScalar(u)))'") is not one of a-z 0-9 _ .")
            }
        }
        guard let first = name.utf8.first, first >= 0x61 && first <= 0x7A else { throw fail("must start with a letter a-z") }
    }
}

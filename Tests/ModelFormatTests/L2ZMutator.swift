import Foundation
@testable import ModelFormat

/// Seeded structure-aware mutations of `.l2z` bytes for `L2ZFuzzTests`.
///
/// Contract: `mutate(_:donor:)` returns a mutated copy of a file and a one-line description of
/// what was done; it is a pure function of the generator state, so a case is replayed from its
/// seed. Mutations at the byte level (bit flips, insertions, deletions, truncations, overwrites
/// with boundary values) apply to any input; the structural ones (zip member splices, manifest
/// JSON edits, `.npy` header edits) take the archive apart with ``ZipSurgery`` and rebuild it
/// with the library's zip writer, so every CRC and offset is consistent and the mutation
/// reaches the later stages of the reader. A structural mutation that cannot be applied (the
/// input is not a well-formed archive, the manifest is not JSON) falls back to a bit flip.
struct L2ZMutator {
    var rng: SplitMix64

    init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    mutating func int(_ n: Int) -> Int { n <= 0 ? 0 : Int(rng.next() % UInt64(n)) }
    mutating func chance(_ p: Double) -> Bool { rng.uniform() < p }

    mutating func mutate(_ input: [UInt8], donor: [UInt8]) -> (bytes: [UInt8], description: String) {
        let kind = int(11)
        do {
            switch kind {
            case 0: return bitFlips(input)
            case 1: return insertion(input)
            case 2: return deletion(input)
            case 3: return truncation(input)
            case 4: return boundaryOverwrite(input)
            case 5, 6: return try memberSplice(input, donor: donor)
            case 7, 8: return try manifestMutation(input)
            default: return try npyHeaderMutation(input)
            }
        } catch {
            let (bytes, what) = bitFlips(input)
            return (bytes, "fallback (\(kind) not applicable): \(what)")
        }
    }

    // MARK: Byte level

    mutating func bitFlips(_ input: [UInt8]) -> ([UInt8], String) {
        var b = input
        guard !b.isEmpty else { return ([0x50], "empty input replaced by one byte") }
        let count = 1 + int(8)
        var positions: [Int] = []
        for _ in 0..<count {
            let i = int(b.count)
            b[i] ^= UInt8(1) << UInt8(int(8))
            positions.append(i)
        }
        return (b, "bit flips at \(positions)")
    }

    mutating func insertion(_ input: [UInt8]) -> ([UInt8], String) {
        var b = input
        let at = int(b.count + 1)
        let count = chance(0.8) ? 1 + int(16) : 1 + int(4096)
        let bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        b.insert(contentsOf: bytes, at: at)
        return (b, "inserted \(count) random bytes at \(at)")
    }

    mutating func deletion(_ input: [UInt8]) -> ([UInt8], String) {
        var b = input
        guard !b.isEmpty else { return (b, "deletion from empty input") }
        let at = int(b.count)
        let count = min(b.count - at, chance(0.8) ? 1 + int(16) : 1 + int(4096))
        b.removeSubrange(at..<(at + count))
        return (b, "deleted \(count) bytes at \(at)")
    }

    mutating func truncation(_ input: [UInt8]) -> ([UInt8], String) {
        let length = chance(0.5) ? int(input.count) : max(0, input.count - 1 - int(64))
        return (Array(input.prefix(length)), "truncated to \(length) of \(input.count) bytes")
    }

    /// Overwrites 1, 2, 4 or 8 bytes with a boundary value (0, all ones, sign bits, small
    /// numbers): the values that break size and offset arithmetic in zip and npy headers.
    mutating func boundaryOverwrite(_ input: [UInt8]) -> ([UInt8], String) {
        var b = input
        let width = [1, 2, 4, 8][int(4)]
        guard b.count >= width else { return bitFlips(input) }
        let values: [UInt64] = [0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF,
                                0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, .max, UInt64(input.count), UInt64(input.count + 1)]
        let value = values[int(values.count)]
        let at = int(b.count - width + 1)
        for i in 0..<width { b[at + i] = UInt8(truncatingIfNeeded: value >> UInt64(8 * i)) }
        return (b, "wrote \(width)-byte 0x\(String(value, radix: 16)) at \(at)")
    }

    // MARK: Zip members

    /// The members of `input`, only when the library's own strict layout check accepts it
    /// (``ZipSurgery`` trusts its input; a stacked mutation may have broken the archive).
    static func parts(_ input: [UInt8]) throws -> ZipSurgery.Parts {
        _ = try input.withUnsafeBytes { try ZipLayout(bytes: $0, limits: ReadLimits()) }
        return try ZipSurgery.Parts(bytes: input)
    }

    mutating func memberSplice(_ input: [UInt8], donor: [UInt8]) throws -> ([UInt8], String) {
        var parts = try Self.parts(input)
        guard !parts.members.isEmpty else { throw ZipSurgery.SurgeryError(description: "no members") }
        let donorMembers = (try? ZipSurgery.members(donor)) ?? []
        let i = int(parts.members.count)
        let name = parts.members[i].name
        let what: String
        switch int(7) {
        case 0:
            parts.members.remove(at: i)
            what = "removed member \(name)"
        case 1:
            parts.members.insert(parts.members[i], at: int(parts.members.count + 1))
            what = "duplicated member \(name)"
        case 2:
            let j = int(parts.members.count)
            parts.members.swapAt(i, j)
            what = "swapped members \(i) and \(j)"
        case 3:
            let j = int(parts.members.count)
            let data = parts.members[j].data
            parts.members[i].data = data
            what = "data of member \(parts.members[j].name) copied into \(name)"
        case 4:
            guard let other = donorMembers.isEmpty ? nil : donorMembers[int(donorMembers.count)] else { throw ZipSurgery.SurgeryError(description: "no donor") }
            if chance(0.5) { parts.members[i].data = other.data } else { parts.members.append(other) }
            what = "spliced donor member \(other.name) into \(name)"
        case 5:
            let names = ["manifest.json", "l2z.magic", "x.npy", "../evil.npy", "a/b.npy", "UPPER.npy", "", "extra.txt",
                         String(repeating: "a", count: 300) + ".npy", "n\u{0}ul.npy", "\u{1B}[2J.npy"]
            let newName = chance(0.5) ? names[int(names.count)] : name + String(UnicodeScalar(UInt8(33 + int(90))))
            parts.members[i].name = newName
            what = "renamed member \(name) to \(newName.debugDescription)"
        default:
            let data = parts.members[i].data
            let cut = int(data.count + 1)
            parts.members[i].data = chance(0.5) ? Array(data.prefix(cut)) : data + data.prefix(cut)
            what = "resized member \(name) from \(data.count) to \(parts.members[i].data.count) bytes (CRC consistent)"
        }
        let aligned = chance(0.9)
        return (try parts.build(alignment: aligned ? NpyCodec.headerAlignment : nil), what + (aligned ? "" : ", unaligned"))
    }

    // MARK: Manifest JSON

    mutating func manifestMutation(_ input: [UInt8]) throws -> ([UInt8], String) {
        var parts = try Self.parts(input)
        guard let text = parts[member: L2ZReader.manifestMemberName] else { throw ZipSurgery.SurgeryError(description: "no manifest") }
        if chance(0.25) {
            // Raw text edits: the strict JSON parser's territory.
            var b = text
            let what: String
            let snippets = ["{", "}", "[", "]", ",", ":", "\"", "\\", "\\u", "\\ud800", "1e999", "-0", "NaN", "null",
                            "0000000001", "1.7976931348623157e309", "9223372036854775808", "\u{1B}]0;x\u{07}", "\n",
                            String(repeating: "[", count: 200), "\u{FEFF}", "\u{0}"]
            let snippet = Array(snippets[int(snippets.count)].utf8)
            let at = int(b.count + 1)
            if chance(0.5), !b.isEmpty {
                let end = min(b.count, at + int(8))
                b.replaceSubrange(min(at, b.count)..<end, with: snippet)
                what = "manifest text [\(at)...] replaced by \(String(decoding: snippet, as: UTF8.self).debugDescription.prefix(40))"
            } else {
                b.insert(contentsOf: snippet, at: at)
                what = "manifest text: inserted \(String(decoding: snippet, as: UTF8.self).debugDescription.prefix(40)) at \(at)"
            }
            parts[member: L2ZReader.manifestMemberName] = b
            return (try parts.build(), what)
        }
        var json = try parts.manifest
        var paths: [[String]] = []
        Self.collectPaths(json, prefix: [], into: &paths)
        guard !paths.isEmpty else { throw ZipSurgery.SurgeryError(description: "empty manifest") }
        let path = paths[int(paths.count)]
        let replacement = randomValue()
        let what: String
        if chance(0.15) {
            try json.surgerySet(path[...], nil)
            what = "manifest \(path.joined(separator: ".")) removed"
        } else if chance(0.15) {
            try json.surgerySet((path.dropLast() + ["zz_unknown"])[...], replacement)
            what = "manifest \(path.dropLast().joined(separator: ".")).zz_unknown added"
        } else {
            try json.surgerySet(path[...], replacement)
            what = "manifest \(path.joined(separator: ".")) = \(String(describing: replacement).prefix(60))"
        }
        try parts.setManifest(json)
        return (try parts.build(), what)
    }

    /// Key paths of every value inside objects (arrays are replaced whole).
    static func collectPaths(_ value: JSONValue, prefix: [String], into paths: inout [[String]]) {
        guard case let .object(object) = value else { return }
        for (key, child) in object.sorted(by: { $0.key < $1.key }) {
            paths.append(prefix + [key])
            collectPaths(child, prefix: prefix + [key], into: &paths)
        }
    }

    mutating func randomValue() -> JSONValue {
        let ints: [Int64] = [0, 1, -1, 2, 3, 7, 64, 255, 4096, 65_536, 1 << 31, 1 << 40, Int64.max, Int64.min]
        let doubles: [Double] = [0, -0.0, 0.5, -1, 1e-300, .leastNonzeroMagnitude, 1e300, 1.7976931348623157e308, 1e40, 2.5, 6]
        let strings = ["", "x", "u1", "gaussian_mixture", "shared", "per_step", "tanh", "relu", "ncp", "linear",
                       "0.1.0", "99.0.0", "l2z", "\u{1B}[2Jerror: [ok] all good\n", String(repeating: "z", count: 5000)]
        switch int(8) {
        case 0: return .int(ints[int(ints.count)])
        case 1: return .double(doubles[int(doubles.count)])
        case 2: return .string(strings[int(strings.count)])
        case 3: return .bool(chance(0.5))
        case 4: return .null
        case 5: return .array((0..<int(5)).map { _ in .int(ints[int(ints.count)]) })
        case 6: return .object(["a": .int(1)])
        default: return .array(Array(repeating: .int(Int64(int(9))), count: int(64)))
        }
    }

    // MARK: npy headers

    mutating func npyHeaderMutation(_ input: [UInt8]) throws -> ([UInt8], String) {
        var parts = try Self.parts(input)
        let arrays = parts.members.indices.filter { parts.members[$0].name.hasSuffix(".npy") }
        guard !arrays.isEmpty else { throw ZipSurgery.SurgeryError(description: "no arrays") }
        let i = arrays[int(arrays.count)]
        var data = parts.members[i].data
        guard data.count >= 10 else { throw ZipSurgery.SurgeryError(description: "short npy") }
        let headerLength = Int(data[8]) | Int(data[9]) << 8
        let what: String
        switch int(4) {
        case 0:
            // The header length or version fields.
            let field = [6, 7, 8, 9][int(4)]
            let value = UInt8([0, 1, 2, 3, 0xFF, 0x7F][int(6)])
            data[field] = value
            what = "npy byte \(field) = \(value)"
        case 1:
            let end = min(data.count, 10 + headerLength)
            var header = String(decoding: data[10..<end], as: UTF8.self)
            let replacements: [(String, String)] = [
                ("'<f8'", "'<f4'"), ("'<f8'", "'>f8'"), ("'<f8'", "'|b1'"), ("'<f8'", "'<i8'"), ("'<f8'", "'<c16'"),
                ("'<f8'", "'O'"), ("False", "True"), ("'shape': (", "'shape': (-1, "), ("'shape': (", "'shape': (0, "),
                ("'shape': (", "'shape': (9223372036854775807, "), ("'shape': (", "'shape': (4294967296, 4294967296, "),
                ("'shape': (", "'shape': (1, 1, 1, 1, 1, 1, 1, 1, 1, "), ("'descr'", "'descr2'"), ("{", "{'x': 1, "),
                ("}", ""), (", }", ", 'shape': (), }"),
            ]
            let (from, to) = replacements[int(replacements.count)]
            if let range = header.range(of: from) { header.replaceSubrange(range, with: to) }
            let newHeader = Array(header.utf8)
            let padded = chance(0.5) ? newHeader : newHeader + Array(repeating: 0x20, count: max(0, headerLength - newHeader.count))
            data.replaceSubrange(10..<end, with: padded)
            data[8] = UInt8(padded.count & 0xFF)
            data[9] = UInt8((padded.count >> 8) & 0xFF)
            what = "npy header of \(parts.members[i].name): \(from) -> \(to)"
        case 2:
            let shape = (0..<(1 + int(3))).map { _ in [0, 1, 2, 3, 1 << 20, 1 << 33, Int.max / 2][int(7)] }
            let shapeText = "(" + shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? ",)" : ")")
            let header = Array("{'descr': '<f8', 'fortran_order': False, 'shape': \(shapeText), }\n".utf8)
            let end = min(data.count, 10 + headerLength)
            data.replaceSubrange(10..<end, with: header)
            data[8] = UInt8(header.count & 0xFF)
            data[9] = UInt8((header.count >> 8) & 0xFF)
            what = "npy shape of \(parts.members[i].name) declared \(shapeText)"
        default:
            let start = 10 + int(max(1, headerLength))
            guard start < data.count else { throw ZipSurgery.SurgeryError(description: "header fills the member") }
            data[start] ^= UInt8(1) << UInt8(int(8))
            what = "npy header/data bit flip at \(start) of \(parts.members[i].name)"
        }
        parts.members[i].data = data
        return (try parts.build(), what)
    }
}

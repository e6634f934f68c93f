import XCTest
@testable import ModelFormat

/// Byte-level helpers for building corrupt `.l2z` files in tests: locate members in a zip,
/// patch header fields, recompute CRC-32, take an archive apart into members and rebuild it.
///
/// Offsets follow the zip APPNOTE: local header (30 bytes + name + extra), central directory
/// header (46 bytes + name + extra + comment), end-of-central-directory record (22 bytes).
enum ZipSurgery {
    struct SurgeryError: Error, CustomStringConvertible {
        let description: String
    }

    // MARK: Field offsets

    enum Local {
        static let signature = 0, flags = 6, method = 8, crc = 14, compressedSize = 18, size = 22
        static let nameLength = 26, extraLength = 28, name = 30
    }

    enum Central {
        static let signature = 0, flags = 8, method = 10, crc = 16, compressedSize = 20, size = 24
        static let nameLength = 28, extraLength = 30, commentLength = 32, diskStart = 34
        static let externalAttributes = 38, localHeaderOffset = 42, name = 46
    }

    enum EndRecord {
        static let signature = 0, disk = 4, centralDirectoryDisk = 6, entriesOnDisk = 8, entries = 10
        static let centralDirectorySize = 12, centralDirectoryOffset = 16, commentLength = 20
    }

    // MARK: Reading and patching little-endian fields

    static func u16(_ b: [UInt8], _ o: Int) -> Int { Int(b[o]) | Int(b[o + 1]) << 8 }
    static func u32(_ b: [UInt8], _ o: Int) -> Int { u16(b, o) | u16(b, o + 2) << 16 }

    static func patchU16(_ b: inout [UInt8], _ o: Int, _ v: Int) {
        b[o] = UInt8(v & 0xFF); b[o + 1] = UInt8((v >> 8) & 0xFF)
    }

    static func patchU32(_ b: inout [UInt8], _ o: Int, _ v: Int) {
        patchU16(&b, o, v & 0xFFFF); patchU16(&b, o + 2, (v >> 16) & 0xFFFF)
    }

    // MARK: CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320)

    private static let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func crc32(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for byte in bytes { c = crcTable[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }

    // MARK: Locating members

    /// Where one member's headers and data lie in the file.
    struct EntryInfo {
        let name: String
        /// Offset of the central directory header.
        let central: Int
        /// Offset of the local header.
        let local: Int
        /// Offset of the first data byte.
        let dataOffset: Int
        let size: Int
        let nameLength: Int
    }

    /// Offset of the end-of-central-directory record (the last 22 bytes of a valid file).
    static func endRecord(_ b: [UInt8]) -> Int { b.count - 22 }

    /// Every central directory entry of a well-formed archive, in directory order.
    static func entries(_ b: [UInt8]) throws -> [EntryInfo] {
        let eocd = endRecord(b)
        guard eocd >= 0, u32(b, eocd) == 0x0605_4B50 else { throw SurgeryError(description: "no end record at the end") }
        let count = u16(b, eocd + EndRecord.entries)
        var o = u32(b, eocd + EndRecord.centralDirectoryOffset)
        var out: [EntryInfo] = []
        for _ in 0..<count {
            guard u32(b, o) == 0x0201_4B50 else { throw SurgeryError(description: "no central header at \(o)") }
            let nameLength = u16(b, o + Central.nameLength)
            let name = String(decoding: b[(o + Central.name)..<(o + Central.name + nameLength)], as: UTF8.self)
            let local = u32(b, o + Central.localHeaderOffset)
            let dataOffset = local + 30 + u16(b, local + Local.nameLength) + u16(b, local + Local.extraLength)
            out.append(EntryInfo(name: name, central: o, local: local, dataOffset: dataOffset,
                                 size: u32(b, o + Central.size), nameLength: nameLength))
            o += 46 + nameLength + u16(b, o + Central.extraLength) + u16(b, o + Central.commentLength)
        }
        return out
    }

    static func entry(_ b: [UInt8], _ name: String) throws -> EntryInfo {
        guard let e = try entries(b).first(where: { $0.name == name }) else { throw SurgeryError(description: "no member \(name)") }
        return e
    }

    // MARK: Edits in place

    /// Patches a u16 field in both the central and the local header of `member`.
    static func patchBothU16(_ b: inout [UInt8], _ member: String, central: Int, local: Int, _ v: Int) throws {
        let e = try entry(b, member)
        patchU16(&b, e.central + central, v); patchU16(&b, e.local + local, v)
    }

    /// Patches a u32 field in both the central and the local header of `member`.
    static func patchBothU32(_ b: inout [UInt8], _ member: String, central: Int, local: Int, _ v: Int) throws {
        let e = try entry(b, member)
        patchU32(&b, e.central + central, v); patchU32(&b, e.local + local, v)
    }

    /// Renames a member in both headers to a name of the same length.
    static func rename(_ b: inout [UInt8], _ from: String, to: String, local renameLocal: Bool = true) throws {
        let e = try entry(b, from)
        let new = Array(to.utf8)
        guard new.count == e.nameLength else { throw SurgeryError(description: "rename needs a name of \(e.nameLength) bytes") }
        b.replaceSubrange((e.central + Central.name)..<(e.central + Central.name + new.count), with: new)
        if renameLocal { b.replaceSubrange((e.local + Local.name)..<(e.local + Local.name + new.count), with: new) }
    }

    /// Applies `edit` to one member's data in place (same length); with `fixCRC` the CRC-32 in
    /// both headers is recomputed so only the SHA-256 in the manifest can notice.
    static func editData(_ b: inout [UInt8], _ member: String, fixCRC: Bool, _ edit: (inout [UInt8]) -> Void) throws {
        let e = try entry(b, member)
        var data = Array(b[e.dataOffset..<(e.dataOffset + e.size)])
        edit(&data)
        guard data.count == e.size else { throw SurgeryError(description: "editData must keep the length") }
        b.replaceSubrange(e.dataOffset..<(e.dataOffset + e.size), with: data)
        if fixCRC {
            let crc = Int(crc32(data))
            patchU32(&b, e.central + Central.crc, crc); patchU32(&b, e.local + Local.crc, crc)
        }
    }

    /// Inserts an extra field and/or a comment into `member`'s central directory entry (the local
    /// header is untouched) and fixes the central directory size in the end record.
    static func insertIntoCentral(_ b: inout [UInt8], _ member: String, extra: [UInt8] = [], comment: [UInt8] = []) throws {
        let e = try entry(b, member)
        let extraLength = u16(b, e.central + Central.extraLength), commentLength = u16(b, e.central + Central.commentLength)
        b.insert(contentsOf: extra, at: e.central + Central.name + e.nameLength + extraLength)
        b.insert(contentsOf: comment, at: e.central + Central.name + e.nameLength + extraLength + extra.count + commentLength)
        patchU16(&b, e.central + Central.extraLength, extraLength + extra.count)
        patchU16(&b, e.central + Central.commentLength, commentLength + comment.count)
        let sizeField = endRecord(b) + EndRecord.centralDirectorySize
        patchU32(&b, sizeField, u32(b, sizeField) + extra.count + comment.count)
    }

    // MARK: Taking apart and rebuilding

    /// The members of a well-formed archive in file order.
    static func members(_ b: [UInt8]) throws -> [(name: String, data: [UInt8])] {
        try entries(b).sorted { $0.local < $1.local }.map { ($0.name, Array(b[$0.dataOffset..<($0.dataOffset + $0.size)])) }
    }
}

extension ZipSurgery {
    /// An archive taken apart into members, to be edited and rebuilt with the library's own zip
    /// writer (``LibZip/buildArchive(_:)``), so every offset, size and CRC of the result is consistent.
    struct Parts {
        var members: [(name: String, data: [UInt8])]

        init(members: [(name: String, data: [UInt8])]) { self.members = members }

        init(bytes: [UInt8]) throws { members = try ZipSurgery.members(bytes) }

        /// The parts a writer would produce for `model`, but without any validation: arrays may be
        /// non-finite, missing, extra or of the wrong shape, and the manifest describes them as they are.
        init(unvalidated model: L2ZModel) throws {
            let manifest = try CanonicalJSONWriter.encode(ManifestCodec.encode(model.manifest()))
            members = [(ZipLayout.magicMemberName, ZipLayout.magicContent), (L2ZReader.manifestMemberName, manifest)]
            for name in model.arrays.keys.sorted() { members.append((name + ".npy", NpyCodec.encode(model.arrays[name]!))) }
        }

        subscript(member name: String) -> [UInt8]? {
            get { members.first { $0.name == name }?.data }
            set {
                if let i = members.firstIndex(where: { $0.name == name }) {
                    if let newValue { members[i].data = newValue } else { members.remove(at: i) }
                } else if let newValue {
                    members.append((name, newValue))
                }
            }
        }

        /// The manifest as a JSON value (parsed and written canonically).
        var manifest: JSONValue {
            get throws { try StrictJSONParser.parse(self[member: L2ZReader.manifestMemberName] ?? []) }
        }

        mutating func setManifest(_ json: JSONValue) throws {
            self[member: L2ZReader.manifestMemberName] = try CanonicalJSONWriter.encode(json)
        }

        /// Sets (or with nil removes) the manifest value at a key path, e.g. ["target", "lt"].
        mutating func setManifest(_ path: [String], _ value: JSONValue?) throws {
            var json = try manifest
            try json.surgerySet(path[...], value)
            try setManifest(json)
        }

        /// Replaces the manifest value at `path` with raw JSON text (which may be invalid JSON).
        mutating func setManifestRaw(_ path: [String], _ raw: String) throws {
            let sentinel = "@@RAW-SENTINEL@@"
            var json = try manifest
            try json.surgerySet(path[...], .string(sentinel))
            let text = String(decoding: try CanonicalJSONWriter.encode(json), as: UTF8.self)
            guard text.components(separatedBy: "\"\(sentinel)\"").count == 2 else {
                throw SurgeryError(description: "sentinel not found exactly once")
            }
            self[member: L2ZReader.manifestMemberName] = Array(text.replacingOccurrences(of: "\"\(sentinel)\"", with: raw).utf8)
        }

        /// Sets the manifest entry of array `name` to describe `array` (dtype, shape, SHA-256).
        mutating func describeArray(_ name: String, _ array: NDArray) throws {
            try setManifest(["arrays", name], .object([
                "dtype": .string(array.dtype.rawValue),
                "shape": .array(array.shape.map { .int(Int64($0)) }),
                "sha256": .string(SHA256Digest.hex(array.bytes)),
            ]))
        }

        /// Stores `array` as member `name.npy` and describes it in the manifest consistently.
        mutating func putArray(_ name: String, _ array: NDArray) throws {
            self[member: name + ".npy"] = NpyCodec.encode(array)
            try describeArray(name, array)
        }

        /// The archive bytes; `.npy` members get their data aligned to `alignment` (as the writer does).
        func build(alignment: Int? = NpyCodec.headerAlignment) throws -> [UInt8] {
            try LibZip.buildArchive(members.map {
                LibZip.Member(name: $0.name, data: $0.data, alignment: $0.name.hasSuffix(".npy") ? alignment : nil)
            })
        }
    }

    /// `.npy` bytes with an arbitrary header dict text, padded like numpy's (magic + length + header
    /// a multiple of 64, ending in a newline), and optional raw overrides of the version bytes.
    static func npy(header: String, data: [UInt8], major: UInt8 = 1, minor: UInt8 = 0) -> [UInt8] {
        var text = header
        let unpadded = 6 + 2 + 2 + text.utf8.count + 1
        text += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        let length = text.utf8.count
        return NpyCodec.magic + [major, minor, UInt8(length & 0xFF), UInt8(length >> 8)] + Array(text.utf8) + data
    }

    /// Little-endian float64 bytes.
    static func float64Bytes(_ values: [Double]) -> [UInt8] {
        values.flatMap { v -> [UInt8] in
            let bits = v.bitPattern
            return (0..<8).map { UInt8((bits >> (8 * $0)) & 0xFF) }
        }
    }
}

extension JSONValue {
    /// Sets (nil: removes) the value at an object key path, creating missing intermediate objects.
    mutating func surgerySet(_ path: ArraySlice<String>, _ value: JSONValue?) throws {
        guard let key = path.first else {
            if let value { self = value }
            return
        }
        guard case var .object(o) = self else { throw ZipSurgery.SurgeryError(description: "not an object above key \(key)") }
        if path.count == 1 {
            o[key] = value
        } else {
            var child = o[key] ?? .object([:])
            try child.surgerySet(path.dropFirst(), value)
            o[key] = child
        }
        self = .object(o)
    }
}

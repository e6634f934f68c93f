/// A structural check of the zip bytes of a `.l2z` file, done before libzip sees them.
///
/// libzip reads archives that `.l2z` must refuse (comments, prepended bytes, gaps, data
/// descriptors, ...) and does not expose where member data lies, so this pass parses the end
/// record, the central directory and every local header itself and enforces the container rules
/// of docs/FORMAT.md: one end record at the very end with no comment, no zip64, the central
/// directory directly before it, members stored (method 0) without encryption or data
/// descriptors, local headers equal to their central entries, members tiling the file from
/// offset 0 with no gap or overlap, and the fixed first member `l2z.magic`.
/// Every size read from the file is checked against the file length before it is used.
struct ZipLayout {
    struct Entry {
        let name: String
        let localHeaderOffset: Int
        let dataOffset: Int
        let size: Int
        let crc32: UInt32
    }

    let entries: [Entry]

    static let magicMemberName = "l2z.magic"
    /// Content of the first member: the file is an `.l2z` iff its bytes 30..<39 are the member
    /// name and bytes 39..<55 are this text.
    static let magicContent = Array("l2hmc-l2z-model\n".utf8)

    init(bytes: UnsafeRawBufferPointer, limits: ReadLimits) throws {
        let size = bytes.count
        func u16(_ o: Int) -> Int { Int(bytes[o]) | Int(bytes[o + 1]) << 8 }
        func u32(_ o: Int) -> Int { u16(o) | u16(o + 2) << 16 }

        guard size > 0 else { throw L2ZError.notZip(reason: "the file is empty") }
        let startsLikeZip = size >= 4 && bytes[0] == 0x50 && bytes[1] == 0x4B && bytes[2] == 0x03 && bytes[3] == 0x04
        guard size >= 22 else {
            throw startsLikeZip ? L2ZError.truncated(reason: "\(size) bytes is shorter than a zip end record")
                                : L2ZError.notZip(reason: ZipLayout.sniff(bytes))
        }

        // End of central directory: must be the last 22 bytes (no archive comment).
        let eocd = size - 22
        if u32(eocd) != 0x06054B50 {
            // Find out why, to name the problem precisely.
            let lowest = max(0, size - 22 - 0xFFFF)
            var found: Int?
            var o = size - 22
            while o >= lowest { if u32(o) == 0x06054B50 { found = o; break }; o -= 1 }
            if let f = found {
                let commentLength = u16(f + 20)
                if commentLength > 0 && f + 22 + commentLength == size { throw L2ZError.archiveComment(length: commentLength) }
                throw L2ZError.bytesOutsideArchive(reason: "\(size - f - 22) bytes follow the end-of-central-directory record")
            }
            throw startsLikeZip ? L2ZError.truncated(reason: "no end-of-central-directory record")
                                : L2ZError.notZip(reason: ZipLayout.sniff(bytes))
        }
        let commentLength = u16(eocd + 20)
        guard commentLength == 0 else { throw L2ZError.archiveComment(length: commentLength) }
        let disk = u16(eocd + 4), cdDisk = u16(eocd + 6)
        let entriesOnDisk = u16(eocd + 8), entryCount = u16(eocd + 10)
        let cdSize = u32(eocd + 12), cdOffset = u32(eocd + 16)
        if entryCount == 0xFFFF || cdSize == 0xFFFF_FFFF || cdOffset == 0xFFFF_FFFF {
            throw L2ZError.unsupportedZipFeature(member: "(archive)", feature: "zip64 records")
        }
        if eocd >= 20 && u32(eocd - 20) == 0x07064B50 {
            throw L2ZError.unsupportedZipFeature(member: "(archive)", feature: "a zip64 end-of-central-directory locator")
        }
        guard disk == 0, cdDisk == 0, entriesOnDisk == entryCount else {
            throw L2ZError.centralDirectoryInvalid(reason: "multi-disk archive (disk \(disk), entries \(entriesOnDisk) of \(entryCount))")
        }
        guard entryCount <= limits.maxEntries else { throw L2ZError.tooManyEntries(count: entryCount, limit: limits.maxEntries) }
        guard entryCount >= 1 else { throw L2ZError.notL2Z(reason: "the archive is empty") }
        guard cdOffset <= eocd, cdSize <= eocd - cdOffset else {
            throw L2ZError.centralDirectoryInvalid(reason: "central directory (offset \(cdOffset), size \(cdSize)) runs past its end record at \(eocd)")
        }
        guard cdOffset + cdSize == eocd else {
            let gap = eocd - cdOffset - cdSize
            if cdOffset + gap + 4 <= size && u32(cdOffset + gap) == 0x02014B50 {
                throw L2ZError.bytesOutsideArchive(reason: "\(gap) bytes were prepended to the archive")
            }
            throw L2ZError.bytesOutsideArchive(reason: "\(gap) bytes between the central directory and its end record")
        }

        var entries: [Entry] = []
        var seen: [String: String] = [:]  // folded -> original
        var o = cdOffset
        for index in 0..<entryCount {
            guard o + 46 <= eocd, u32(o) == 0x02014B50 else {
                throw L2ZError.centralDirectoryInvalid(reason: "entry \(index) at offset \(o) is not a central directory header")
            }
            let flags = u16(o + 8), method = u16(o + 10)
            let crc = UInt32(u32(o + 16)), compressed = u32(o + 20), uncompressed = u32(o + 24)
            let nameLength = u16(o + 28), extraLength = u16(o + 30), entryCommentLength = u16(o + 32)
            let diskStart = u16(o + 34), externalAttributes = u32(o + 38), localOffset = u32(o + 42)
            let next = o + 46 + nameLength + extraLength + entryCommentLength
            guard next <= eocd else { throw L2ZError.centralDirectoryInvalid(reason: "entry \(index) runs past the central directory") }
            let nameBytes = Array(bytes[(o + 46)..<(o + 46 + nameLength)])
            let name = String(decoding: nameBytes, as: UTF8.self)
            try ZipLayout.checkMemberName(nameBytes, name: name)
            let folded = name.lowercased()
            if let prior = seen[folded] {
                throw L2ZError.duplicateMember(name: prior == name ? name : "\(prior) / \(name)")
            }
            seen[folded] = name
            if flags & 0x0001 != 0 || flags & 0x0040 != 0 { throw L2ZError.unsupportedZipFeature(member: name, feature: "encryption") }
            if flags & 0x0008 != 0 { throw L2ZError.unsupportedZipFeature(member: name, feature: "a data descriptor") }
            guard method == 0 else { throw L2ZError.compressedMember(member: name, method: method) }
            if compressed == 0xFFFF_FFFF || uncompressed == 0xFFFF_FFFF || localOffset == 0xFFFF_FFFF {
                throw L2ZError.unsupportedZipFeature(member: name, feature: "zip64 sizes")
            }
            guard compressed == uncompressed else {
                throw L2ZError.centralDirectoryInvalid(reason: "stored member \(name) has compressed size \(compressed) but size \(uncompressed)")
            }
            guard entryCommentLength == 0 else { throw L2ZError.unsupportedZipFeature(member: name, feature: "an entry comment") }
            guard extraLength == 0 else { throw L2ZError.unsupportedZipFeature(member: name, feature: "central-directory extra fields") }
            guard diskStart == 0 else { throw L2ZError.centralDirectoryInvalid(reason: "member \(name) starts on disk \(diskStart)") }
            let unixType = (externalAttributes >> 16) & 0o170000
            if unixType == 0o120000 { throw L2ZError.unexpectedMember(name: name, reason: "a symbolic link") }
            if unixType == 0o040000 || externalAttributes & 0x10 != 0 {
                throw L2ZError.unexpectedMember(name: name, reason: "a directory entry")
            }

            // The local header must agree with the central entry.
            guard localOffset + 30 <= cdOffset, u32(localOffset) == 0x04034B50 else {
                throw L2ZError.centralDirectoryInvalid(reason: "member \(name): no local header at offset \(localOffset)")
            }
            if u32(localOffset + 18) == 0xFFFF_FFFF || u32(localOffset + 22) == 0xFFFF_FFFF {
                throw L2ZError.unsupportedZipFeature(member: name, feature: "zip64 sizes in the local header")
            }
            func same(_ field: String, _ central: Int, _ local: Int) throws {
                guard central == local else { throw L2ZError.localHeaderMismatch(member: name, field: field, central: "\(central)", local: "\(local)") }
            }
            try same("flags", flags, u16(localOffset + 6))
            try same("method", method, u16(localOffset + 8))
            try same("CRC-32", Int(crc), u32(localOffset + 14))
            try same("compressed size", compressed, u32(localOffset + 18))
            try same("size", uncompressed, u32(localOffset + 22))
            let localNameLength = u16(localOffset + 26), localExtraLength = u16(localOffset + 28)
            try same("name length", nameLength, localNameLength)
            let dataOffset = localOffset + 30 + localNameLength + localExtraLength
            guard dataOffset <= cdOffset, uncompressed <= cdOffset - dataOffset else {
                throw L2ZError.centralDirectoryInvalid(reason: "member \(name): data (offset \(dataOffset), \(uncompressed) bytes) runs into the central directory")
            }
            guard Array(bytes[(localOffset + 30)..<(localOffset + 30 + nameLength)]) == nameBytes else {
                throw L2ZError.localHeaderMismatch(member: name, field: "name", central: name,
                                                   local: String(decoding: bytes[(localOffset + 30)..<(localOffset + 30 + nameLength)], as: UTF8.self))
            }
            entries.append(Entry(name: name, localHeaderOffset: localOffset, dataOffset: dataOffset, size: uncompressed, crc32: crc))
            o = next
        }
        guard o == eocd else { throw L2ZError.centralDirectoryInvalid(reason: "\(eocd - o) unparsed bytes at the end of the central directory") }

        // Members tile [0, cdOffset) exactly, in file order.
        let byOffset = entries.sorted { $0.localHeaderOffset < $1.localHeaderOffset }
        var expectedStart = 0
        for (i, e) in byOffset.enumerated() {
            if e.localHeaderOffset < expectedStart {
                throw L2ZError.overlappingMembers(first: byOffset[i - 1].name, second: e.name)
            }
            if e.localHeaderOffset > expectedStart {
                throw L2ZError.bytesOutsideArchive(reason: "\(e.localHeaderOffset - expectedStart) bytes before member \(e.name) belong to no member")
            }
            expectedStart = e.dataOffset + e.size
        }
        if expectedStart != cdOffset {
            throw L2ZError.bytesOutsideArchive(reason: "\(cdOffset - expectedStart) bytes between the last member and the central directory")
        }

        // The only local extra field allowed is the alignment padding (id 0x4C32, zero payload).
        // Checked after the tiling so a misplaced member is reported as such.
        for e in entries where e.dataOffset > e.localHeaderOffset + 30 + e.name.utf8.count {
            let start = e.localHeaderOffset + 30 + e.name.utf8.count, length = e.dataOffset - start
            guard length >= 4, u16(start) == Int(LibZip.paddingExtraFieldID), u16(start + 2) == length - 4,
                  (0..<(length - 4)).allSatisfy({ bytes[start + 4 + $0] == 0 }) else {
                throw L2ZError.unsupportedZipFeature(member: e.name, feature: "a local extra field other than the alignment padding")
            }
        }

        // The fixed first member.
        let first = byOffset[0]
        guard first.name == ZipLayout.magicMemberName, first.localHeaderOffset == 0, first.dataOffset == 30 + first.name.utf8.count,
              first.size == ZipLayout.magicContent.count,
              Array(bytes[first.dataOffset..<(first.dataOffset + first.size)]) == ZipLayout.magicContent else {
            throw L2ZError.notL2Z(reason: "the first member is \"\(first.name)\", not the format marker \"\(ZipLayout.magicMemberName)\" with its fixed content")
        }
        self.entries = entries
    }

    /// Member names: printable ASCII, no absolute paths, no `..` segments, no backslashes.
    static func checkMemberName(_ bytes: [UInt8], name: String) throws {
        func fail(_ reason: String) -> L2ZError { .invalidMemberName(name: name, reason: reason) }
        guard !bytes.isEmpty else { throw fail("empty") }
        guard bytes.count <= ArrayName.maxLength + 4 else { throw fail("longer than \(ArrayName.maxLength + 4) bytes") }
        guard bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else { throw fail("contains control or non-ASCII bytes") }
        guard !bytes.contains(0x5C) else { throw fail("contains a backslash") }
        guard bytes[0] != 0x2F else { throw fail("is an absolute path") }
        if name.split(separator: "/", omittingEmptySubsequences: false).contains(where: { $0 == ".." || $0 == "." }) {
            throw fail("contains a '..' or '.' path segment")
        }
        if bytes.last == 0x2F { throw L2ZError.unexpectedMember(name: name, reason: "a directory entry") }
    }

    /// A short guess at what a non-zip file is, for the error message.
    static func sniff(_ bytes: UnsafeRawBufferPointer) -> String {
        if bytes.count >= 6 && Array(bytes.prefix(6)) == NpyCodec.magic { return "it is a bare .npy array" }
        if bytes.count >= 2 && bytes[0] == 0x80 && bytes[1] <= 5 { return "it looks like a Python pickle (never loaded)" }
        if bytes.count >= 8 && Array(bytes.prefix(8)) == [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A] {
            return "it is an HDF5 file (convert it with l2hmc-convert)"
        }
        return "no zip signature"
    }
}

/// Reads `.l2z` files strictly (docs/FORMAT.md, "Reading").
///
/// Order of checks: file size; container structure (``ZipLayout``); member data with CRC-32
/// (libzip); member names; manifest size, strict JSON and fields; each array's `.npy` header,
/// alignment, data length, SHA-256 against the manifest; manifest and members both ways; arrays
/// against the architecture both ways (``ModelValidator``). The first failure is thrown.
public enum L2ZReader {
    public static let manifestMemberName = "manifest.json"

    /// A successfully read file: the model and the manifest as stored.
    public struct Result: Sendable {
        public let model: L2ZModel
        public let manifest: Manifest
        /// File offset of each array's data (all multiples of 64).
        public let dataOffsets: [String: Int]
    }

    public static func read(path: String, limits: ReadLimits = ReadLimits()) throws -> Result {
        let bytes = try AtomicFile.read(path, limit: limits.maxFileBytes)
        return try read(bytes: bytes, limits: limits)
    }

    public static func read(bytes: [UInt8], limits: ReadLimits = ReadLimits()) throws -> Result {
        guard bytes.count <= limits.maxFileBytes else { throw L2ZError.fileTooLarge(size: bytes.count, limit: limits.maxFileBytes) }
        let layout = try bytes.withUnsafeBytes { try ZipLayout(bytes: $0, limits: limits) }
        // An over-long manifest is refused from its directory entry, before any member is read.
        if let entry = layout.entries.first(where: { $0.name == manifestMemberName }), entry.size > limits.maxManifestBytes {
            throw L2ZError.manifestTooLarge(size: entry.size, limit: limits.maxManifestBytes)
        }
        var members = try LibZip.readMembers(bytes, layout: layout)

        var arrayMembers: [String: ZipLayout.Entry] = [:]
        for entry in layout.entries where entry.name != ZipLayout.magicMemberName && entry.name != manifestMemberName {
            guard entry.name.hasSuffix(".npy") else {
                throw L2ZError.unexpectedMember(name: entry.name, reason: "only l2z.magic, manifest.json and <array>.npy members are allowed")
            }
            let name = String(entry.name.dropLast(4))
            do { try ArrayName.validate(name) } catch {
                throw L2ZError.invalidMemberName(name: entry.name, reason: "the array name does not follow the grammar (lower-case a-z 0-9 _ segments joined by '.')")
            }
            arrayMembers[name] = entry
        }

        guard let manifestBytes = members[manifestMemberName] else { throw L2ZError.manifestMissing }
        let manifest = try parseManifest(manifestBytes, limits: limits)

        var arrays: [String: NDArray] = [:]
        var offsets: [String: Int] = [:]
        for name in arrayMembers.keys.sorted() {
            guard let entry = arrayMembers[name] else { continue }
            let member = entry.name
            // Each member's bytes are dropped once decoded, so the peak stays near the file
            // size plus the decoded arrays.
            guard let data = members.removeValue(forKey: member) else { throw L2ZError.arrayMissing(name: name, reason: "member \(member) was not read") }
            let header = try data.withUnsafeBytes { try NpyCodec.parseHeader($0, member: member, limits: limits) }
            let offset = entry.dataOffset + header.dataOffset
            guard offset % NpyCodec.headerAlignment == 0 else {
                throw L2ZError.misalignedArrayData(member: member, offset: offset, alignment: NpyCodec.headerAlignment)
            }
            let array = try NpyCodec.decode(data, name: member, limits: limits)
            guard let listed = manifest.arrays[name] else { throw L2ZError.arrayNotInManifest(name: name) }
            guard listed.dtype == array.dtype else {
                throw L2ZError.arrayDTypeMismatch(name: name, expected: "\(listed.dtype.rawValue) (manifest)", actual: array.dtype.rawValue)
            }
            guard listed.shape == array.shape else { throw L2ZError.arrayShapeMismatch(name: name, expected: listed.shape, actual: array.shape) }
            let digest = SHA256Digest.hex(array.bytes)
            guard digest == listed.sha256 else { throw L2ZError.checksumMismatch(name: name, expected: listed.sha256, actual: digest) }
            arrays[name] = array
            offsets[name] = offset
        }
        for name in manifest.arrays.keys.sorted() where arrays[name] == nil {
            throw L2ZError.arrayMissing(name: name, reason: "listed in manifest.arrays but no member \(name).npy is stored")
        }
        let needed = manifest.model.expectedArrayCount(probe: manifest.probe)
        guard needed <= limits.maxEntries else {
            throw L2ZError.manifestInvalidValue(path: "network", expected: "an architecture of at most \(limits.maxEntries) arrays (the entry limit)",
                                                actual: "\(needed) arrays")
        }
        try ModelValidator.validate(model: manifest.model, probe: manifest.probe, arrays: arrays)
        let model = L2ZModel(spec: manifest.model, arrays: arrays, probe: manifest.probe,
                             provenance: manifest.provenance, extensions: manifest.extensions)
        return Result(model: model, manifest: manifest, dataOffsets: offsets)
    }

    /// Parses manifest bytes: size limit, UTF-8, strict JSON, then ``ManifestCodec/decode(_:)``.
    public static func parseManifest(_ bytes: [UInt8], limits: ReadLimits = ReadLimits()) throws -> Manifest {
        guard bytes.count <= limits.maxManifestBytes else { throw L2ZError.manifestTooLarge(size: bytes.count, limit: limits.maxManifestBytes) }
        var jsonLimits = StrictJSONParser.Limits()
        jsonLimits.maxBytes = limits.maxManifestBytes
        // Parsed values are freed recursively: a hard cap keeps that within the stack.
        jsonLimits.maxDepth = min(limits.maxManifestDepth, 256)
        let json: JSONValue
        do {
            json = try StrictJSONParser.parse(bytes, limits: jsonLimits)
        } catch let e {
            switch e.kind {
            case .notUTF8: throw L2ZError.manifestNotUTF8
            case .duplicateKey: throw L2ZError.manifestDuplicateKey(path: e.path, reason: e.detail)
            case .nonFiniteLiteral: throw L2ZError.manifestNonFiniteNumber(path: e.path)
            case .numberOutOfRange: throw L2ZError.manifestNumberOutOfRange(path: e.path, reason: e.detail)
            case .tooDeep: throw L2ZError.manifestTooDeep(limit: limits.maxManifestDepth)
            case .tooLarge:
                // The whole-input size was checked above, so this is one over-long string.
                throw L2ZError.manifestInvalidJSON(offset: e.offset, reason: e.detail)
            case .syntax, .trailingContent: throw L2ZError.manifestInvalidJSON(offset: e.offset, reason: e.detail)
            }
        }
        return try ManifestCodec.decode(json)
    }
}

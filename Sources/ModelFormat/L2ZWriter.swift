import Foundation
#if canImport(Glibc)
import Glibc
#endif
/// Writes `.l2z` files (docs/FORMAT.md, "Writing").
///
/// The model is validated exactly as a reader would validate it; the archive is built in memory
/// (members in a fixed order: `l2z.magic`, `manifest.json`, then arrays sorted by name; fixed
/// timestamps; canonical JSON), read back with ``L2ZReader`` as a self-check, and only then
/// written atomically. Equal models give byte-identical files.
public enum L2ZWriter {
    /// The complete file bytes for `model`.
    public static func encode(_ model: L2ZModel) throws -> [UInt8] {
        try ModelValidator.validate(model: model.spec, probe: model.probe, arrays: model.arrays)
        let manifest = model.manifest()
        let manifestJSON: [UInt8]
        do {
            manifestJSON = try CanonicalJSONWriter.encode(ManifestCodec.encode(manifest))
        } catch {
            throw L2ZError.manifestInvalidValue(path: "(writer)", expected: "finite numbers only", actual: "\(error)")
        }
        // Decoding what we are about to write proves the manifest obeys every reader rule.
        _ = try L2ZReader.parseManifest(manifestJSON)
        var members = [
            LibZip.Member(name: ZipLayout.magicMemberName, data: ZipLayout.magicContent, alignment: nil),
            LibZip.Member(name: L2ZReader.manifestMemberName, data: manifestJSON, alignment: nil),
        ]
        for (name, array) in model.arrays.sorted(by: { $0.key < $1.key }) {
            members.append(LibZip.Member(name: name + ".npy", data: NpyCodec.encode(array), alignment: NpyCodec.headerAlignment))
        }
        let bytes = try LibZip.buildArchive(members)
        let check = try L2ZReader.read(bytes: bytes)
        guard check.model == model else {
            throw L2ZError.ioFailure(path: "(memory)", operation: "self-check", reason: "the archive does not read back as the model written")
        }
        return bytes
    }

    /// Encodes and writes atomically. With `replaceExisting` false an existing file is an error
    /// (`io.output_exists`); with it true an existing file is replaced only if it is an `.l2z`
    /// (its first 55 bytes are the format marker): anything else is `io.foreign_output` and is
    /// left untouched.
    public static func write(_ model: L2ZModel, to path: String, replaceExisting: Bool = true,
                             faultInjection: AtomicFile.FaultInjection? = nil) throws {
        let bytes = try encode(model)
        if replaceExisting { try checkReplaceable(path) }
        try AtomicFile.write(bytes, to: path, replaceExisting: replaceExisting, faultInjection: faultInjection)
    }

    /// Throws `io.foreign_output` when `path` exists and is not an `.l2z` file.
    public static func checkReplaceable(_ path: String) throws {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw L2ZError.foreignOutput(path: path, reason: "it is not a regular file")
        }
        let marker = Array(ZipLayout.magicMemberName.utf8) + ZipLayout.magicContent
        let head = (try? AtomicFile.readPrefix(path, count: 30 + marker.count)) ?? []
        guard head.count == 30 + marker.count, Array(head[30...]) == marker else {
            throw L2ZError.foreignOutput(path: path, reason: "it is not an .l2z model (its format marker is missing)")
        }
    }
}

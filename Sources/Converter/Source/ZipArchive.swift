import CZip
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Read-only access to a zip archive (a Keras 3 `.keras` file, an `.npz`) through libzip.
///
/// Opening checks the archive's consistency (`ZIP_CHECKCONS`) and refuses member names that
/// could escape a directory if extracted (absolute, `..` segments, backslashes, control bytes):
/// such an archive is refused as a whole. Members are read into memory or streamed to a file
/// of the caller's choosing, never to a path derived from their name. Every member's size is
/// checked against a limit before anything is allocated; libzip verifies each member's CRC-32.
public final class ZipArchive {
    public let path: String
    /// Member names in archive order.
    public let names: [String]
    private var archive: OpaquePointer?

    public static let defaultMemberLimit = 1 << 32

    public init(path: String) throws {
        self.path = path
        var code: Int32 = 0
        guard let handle = zip_open(path, Int32(ZIP_RDONLY | ZIP_CHECKCONS), &code) else {
            var error = zip_error_t()
            zip_error_init_with_code(&error, code)
            defer { zip_error_fini(&error) }
            throw ConvertError.archiveFailure(path: path, reason: String(cString: zip_error_strerror(&error)))
        }
        archive = handle
        let count = zip_get_num_entries(handle, 0)
        var names: [String] = []
        for i in 0..<max(count, 0) {
            guard let raw = zip_get_name(handle, zip_uint64_t(i), zip_flags_t(ZIP_FL_ENC_RAW)) else {
                zip_discard(handle)
                archive = nil
                throw ConvertError.archiveFailure(path: path, reason: "member \(i) has no readable name")
            }
            let name = String(decoding: Data(bytes: raw, count: strlen(raw)), as: UTF8.self)
            if let why = ZipArchive.unsafeReason(name) {
                zip_discard(handle)
                archive = nil
                throw ConvertError.unsafeArchive(path: path, reason: "member name \(name.debugDescription) \(why)")
            }
            names.append(name)
        }
        self.names = names
    }

    deinit { if let archive { zip_discard(archive) } }

    /// Why a member name is unsafe to extract, or nil.
    static func unsafeReason(_ name: String) -> String? {
        if name.isEmpty { return "is empty" }
        if name.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) { return "contains control characters" }
        if name.hasPrefix("/") { return "is absolute" }
        if name.contains("\\") { return "contains a backslash" }
        if name.split(separator: "/", omittingEmptySubsequences: false).contains(where: { $0 == ".." }) { return "has a '..' segment (path traversal)" }
        if name.count >= 2, name.dropFirst().first == ":" { return "starts with a drive letter" }
        return nil
    }

    /// Uncompressed size of a member; throws when absent.
    public func size(of name: String) throws -> Int {
        let index = try indexOf(name)
        var st = zip_stat_t()
        zip_stat_init(&st)
        guard zip_stat_index(archive, index, 0, &st) == 0, st.valid & zip_uint64_t(ZIP_STAT_SIZE) != 0 else {
            throw ConvertError.archiveFailure(path: path, reason: "cannot stat member \(name)")
        }
        guard st.size <= zip_uint64_t(Int.max) else { throw ConvertError.unsafeArchive(path: path, reason: "member \(name) declares \(st.size) bytes") }
        return Int(st.size)
    }

    /// A whole member in memory (at most `limit` bytes).
    public func read(_ name: String, limit: Int = ZipArchive.defaultMemberLimit) throws -> [UInt8] {
        var out: [UInt8] = []
        try stream(name, limit: limit) { out.append(contentsOf: $0) }
        return out
    }

    /// Copies a member into the open file descriptor `fd` (at most `limit` bytes).
    public func extract(_ name: String, toDescriptor fd: Int32, limit: Int = ZipArchive.defaultMemberLimit) throws {
        try stream(name, limit: limit) { chunk in
            var done = 0
            try chunk.withUnsafeBytes { raw in
                while done < raw.count {
                    let n = write(fd, raw.baseAddress! + done, raw.count - done)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw ConvertError.archiveFailure(path: path, reason: "writing \(name) to a temporary file: \(String(cString: strerror(errno)))")
                    }
                    done += n
                }
            }
        }
    }

    private func indexOf(_ name: String) throws -> zip_uint64_t {
        guard let archive else { throw ConvertError.archiveFailure(path: path, reason: "the archive is closed") }
        let index = zip_name_locate(archive, name, zip_flags_t(ZIP_FL_ENC_RAW))
        guard index >= 0 else { throw ConvertError.unsupportedSource(path: path, reason: "the archive has no member \(name)") }
        return zip_uint64_t(index)
    }

    private func stream(_ name: String, limit: Int, _ sink: ([UInt8]) throws -> Void) throws {
        let declared = try size(of: name)
        guard declared <= limit else {
            throw ConvertError.unsafeArchive(path: path, reason: "member \(name) is \(declared) bytes, more than the limit of \(limit)")
        }
        let index = try indexOf(name)
        guard let file = zip_fopen_index(archive, index, 0) else {
            throw ConvertError.archiveFailure(path: path, reason: "cannot open member \(name): \(String(cString: zip_strerror(archive)))")
        }
        defer { zip_fclose(file) }
        var total = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { zip_fread(file, $0.baseAddress, zip_uint64_t($0.count)) }
            if n < 0 {
                throw ConvertError.archiveFailure(path: path, reason: "reading member \(name): \(String(cString: zip_file_strerror(file)))")
            }
            if n == 0 { break }
            total += Int(n)
            guard total <= declared else { throw ConvertError.unsafeArchive(path: path, reason: "member \(name) is longer than it declares") }
            try sink(Array(buffer[0..<Int(n)]))
        }
        guard total == declared else {
            throw ConvertError.archiveFailure(path: path, reason: "member \(name) is \(total) bytes, the archive declares \(declared)")
        }
    }
}

import CZip
import Foundation

/// The libzip side of the container: building an archive in memory and reading members with
/// CRC verification. The structural rules are enforced by ``ZipLayout`` before libzip is used.
enum LibZip {
    /// One member to write.
    struct Member {
        let name: String
        let data: [UInt8]
        /// Pad the local header's extra field so the data starts at a multiple of this.
        let alignment: Int?
    }

    /// DOS date/time written for every member: 1980-01-01 00:00:00, so files are byte-identical.
    static let dosDate: UInt16 = (0 << 9) | (1 << 5) | 1
    static let dosTime: UInt16 = 0
    /// Extra-field id of the alignment padding (payload: zero bytes).
    static let paddingExtraFieldID: UInt16 = 0x4C32

    /// Builds the archive bytes. Members are written in the given order, stored, with fixed
    /// timestamps and Unix mode 0644.
    static func buildArchive(_ members: [Member]) throws -> [UInt8] {
        var error = zip_error_t()
        zip_error_init(&error)
        defer { zip_error_fini(&error) }
        guard let source = zip_source_buffer_create(nil, 0, 0, &error) else {
            throw L2ZError.ioFailure(path: "(memory)", operation: "zip_source_buffer_create", reason: String(cString: zip_error_strerror(&error)))
        }
        zip_source_keep(source)
        defer { zip_source_free(source) }
        guard let archive = zip_open_from_source(source, ZIP_TRUNCATE, &error) else {
            throw L2ZError.ioFailure(path: "(memory)", operation: "zip_open_from_source", reason: String(cString: zip_error_strerror(&error)))
        }
        var offset = 0
        for m in members {
            func fail(_ op: String) -> L2ZError {
                L2ZError.ioFailure(path: m.name, operation: op, reason: String(cString: zip_strerror(archive)))
            }
            let copy = malloc(max(m.data.count, 1))!
            m.data.withUnsafeBytes { if let base = $0.baseAddress { copy.copyMemory(from: base, byteCount: m.data.count) } }
            // freep = 1: libzip owns and frees the copy (it does not copy buffers itself).
            guard let memberSource = zip_source_buffer(archive, copy, zip_uint64_t(m.data.count), 1) else {
                free(copy); zip_discard(archive); throw fail("zip_source_buffer")
            }
            let index = zip_file_add(archive, m.name, memberSource, zip_flags_t(ZIP_FL_ENC_UTF_8))
            guard index >= 0 else { zip_source_free(memberSource); zip_discard(archive); throw fail("zip_file_add") }
            let i = zip_uint64_t(index)
            guard zip_set_file_compression(archive, i, ZIP_CM_STORE, 0) == 0,
                  zip_file_set_dostime(archive, i, dosTime, dosDate, 0) == 0,
                  zip_file_set_external_attributes(archive, i, 0, zip_uint8_t(ZIP_OPSYS_UNIX), zip_uint32_t(0o100644) << 16) == 0 else {
                zip_discard(archive); throw fail("setting member attributes")
            }
            var extra = 0
            if let alignment = m.alignment {
                let headerEnd = offset + 30 + m.name.utf8.count + 4
                let padding = (alignment - headerEnd % alignment) % alignment
                let payload = [UInt8](repeating: 0, count: padding)
                let rc = payload.withUnsafeBufferPointer {
                    zip_file_extra_field_set(archive, i, paddingExtraFieldID, zip_uint16_t(ZIP_EXTRA_FIELD_NEW), $0.baseAddress, zip_uint16_t(padding), zip_flags_t(ZIP_FL_LOCAL))
                }
                guard rc == 0 else { zip_discard(archive); throw fail("zip_file_extra_field_set") }
                extra = 4 + padding
            }
            offset += 30 + m.name.utf8.count + extra + m.data.count
        }
        guard zip_close(archive) == 0 else {
            let reason = String(cString: zip_strerror(archive))
            zip_discard(archive)
            throw L2ZError.ioFailure(path: "(memory)", operation: "zip_close", reason: reason)
        }
        return try readAll(source)
    }

    private static func readAll(_ source: OpaquePointer) throws -> [UInt8] {
        var st = zip_stat_t()
        zip_stat_init(&st)
        guard zip_source_stat(source, &st) == 0, zip_source_open(source) == 0 else {
            throw L2ZError.ioFailure(path: "(memory)", operation: "reading the built archive", reason: "zip_source_stat/open failed")
        }
        defer { zip_source_close(source) }
        var out = [UInt8](repeating: 0, count: Int(st.size))
        let read = out.withUnsafeMutableBytes { zip_source_read(source, $0.baseAddress, zip_uint64_t($0.count)) }
        guard read == Int64(st.size) else {
            throw L2ZError.ioFailure(path: "(memory)", operation: "reading the built archive", reason: "short read")
        }
        return out
    }

    /// Reads every member's data through libzip (which verifies each CRC-32), after checking
    /// that libzip sees the same entries as ``ZipLayout``. libzip reads `bytes` in place (no
    /// copy of the file is made).
    static func readMembers(_ bytes: [UInt8], layout: ZipLayout) throws -> [String: [UInt8]] {
        try bytes.withUnsafeBytes { raw in try readMembers(raw, layout: layout) }
    }

    private static func readMembers(_ raw: UnsafeRawBufferPointer, layout: ZipLayout) throws -> [String: [UInt8]] {
        var error = zip_error_t()
        zip_error_init(&error)
        defer { zip_error_fini(&error) }
        // freep = 0: libzip neither owns nor frees the buffer, which outlives the archive here
        // (the archive is discarded before this function returns).
        var placeholder: UInt8 = 0
        let source: OpaquePointer? = withUnsafePointer(to: &placeholder) { p in
            zip_source_buffer_create(raw.baseAddress ?? UnsafeRawPointer(p), zip_uint64_t(raw.count), 0, &error)
        }
        guard let source else {
            throw L2ZError.centralDirectoryInvalid(reason: "libzip: \(String(cString: zip_error_strerror(&error)))")
        }
        guard let archive = zip_open_from_source(source, ZIP_RDONLY | ZIP_CHECKCONS, &error) else {
            zip_source_free(source)
            throw L2ZError.centralDirectoryInvalid(reason: "libzip: \(String(cString: zip_error_strerror(&error)))")
        }
        defer { zip_discard(archive) }
        guard zip_get_num_entries(archive, 0) == Int64(layout.entries.count) else {
            throw L2ZError.centralDirectoryInvalid(reason: "libzip sees \(zip_get_num_entries(archive, 0)) entries, the central directory lists \(layout.entries.count)")
        }
        var members: [String: [UInt8]] = [:]
        for (index, entry) in layout.entries.enumerated() {
            let i = zip_uint64_t(index)
            guard let cname = zip_get_name(archive, i, zip_flags_t(ZIP_FL_ENC_RAW)), String(cString: cname) == entry.name else {
                throw L2ZError.centralDirectoryInvalid(reason: "libzip names entry \(index) differently from the central directory")
            }
            guard let file = zip_fopen_index(archive, i, 0) else {
                throw L2ZError.centralDirectoryInvalid(reason: "member \(entry.name): \(String(cString: zip_strerror(archive)))")
            }
            var data = [UInt8](repeating: 0, count: entry.size)  // size bounded by the file length (ZipLayout)
            let n = data.withUnsafeMutableBytes { zip_fread(file, $0.baseAddress, zip_uint64_t($0.count)) }
            // Reading to the end makes libzip compare the CRC-32.
            var tail: UInt8 = 0
            let extra = zip_fread(file, &tail, 1)
            var fileError = zip_file_get_error(file).pointee
            let code = zip_error_code_zip(&fileError)
            zip_fclose(file)
            if code == ZIP_ER_CRC || n < 0 || extra < 0 {
                if code == ZIP_ER_CRC { throw L2ZError.crcMismatch(member: entry.name) }
                throw L2ZError.centralDirectoryInvalid(reason: "member \(entry.name): libzip read failed (error \(code))")
            }
            guard n == Int64(entry.size), extra == 0 else {
                throw L2ZError.centralDirectoryInvalid(reason: "member \(entry.name): libzip read \(n) bytes, expected \(entry.size)")
            }
            members[entry.name] = data
        }
        return members
    }
}

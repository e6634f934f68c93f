import Foundation

/// Every way reading or writing a `.l2z` file can fail.
///
/// Each case has a stable machine-readable ``code`` (documented in docs/FORMAT.md, "Rejection
/// rules") and a message that names the member or manifest path, the expected and the actual value.
/// Codes never change meaning; new failure classes get new codes.
public enum L2ZError: Error, Equatable, Sendable {
    // MARK: Files and I/O
    case fileNotFound(path: String)
    case ioFailure(path: String, operation: String, reason: String)
    case outputExists(path: String)
    /// Another process holds the output's lock (a second writer to the same output).
    case outputLocked(path: String)
    /// `--force` was given, but the existing output was not written by this tool (or holds
    /// files it did not write), so it is left alone.
    case foreignOutput(path: String, reason: String)

    // MARK: Container (zip layer)
    case fileTooLarge(size: Int, limit: Int)
    case notZip(reason: String)
    case notL2Z(reason: String)
    case truncated(reason: String)
    case bytesOutsideArchive(reason: String)
    case archiveComment(length: Int)
    case centralDirectoryInvalid(reason: String)
    case localHeaderMismatch(member: String, field: String, central: String, local: String)
    case unsupportedZipFeature(member: String, feature: String)
    case compressedMember(member: String, method: Int)
    case overlappingMembers(first: String, second: String)
    case tooManyEntries(count: Int, limit: Int)
    case invalidMemberName(name: String, reason: String)
    case duplicateMember(name: String)
    case unexpectedMember(name: String, reason: String)
    case crcMismatch(member: String)
    case misalignedArrayData(member: String, offset: Int, alignment: Int)

    // MARK: Manifest
    case manifestMissing
    case manifestTooLarge(size: Int, limit: Int)
    case manifestNotUTF8
    case manifestInvalidJSON(offset: Int, reason: String)
    case manifestDuplicateKey(path: String, reason: String)
    case manifestNonFiniteNumber(path: String)
    case manifestNumberOutOfRange(path: String, reason: String)
    case manifestTooDeep(limit: Int)
    case manifestUnknownKey(path: String)
    case manifestMissingField(path: String)
    case manifestWrongType(path: String, expected: String, actual: String)
    case manifestInvalidValue(path: String, expected: String, actual: String)
    case wrongFormatName(found: String)
    case malformedVersion(path: String, found: String)
    case unsupportedFormatVersion(found: String, supported: String)
    case unknownRequiredFeature(feature: String, fileVersion: String, readerVersion: String)
    case unsupportedArchitecture(found: String, supported: String)
    /// A valid model of another family than the command handles (an l2hmc-only command given a
    /// flow, or the reverse).
    case wrongFamily(found: String, expected: String)

    // MARK: Arrays (npy members and their agreement with the manifest)
    case npyBadMagic(member: String)
    case npyUnsupportedVersion(member: String, found: String)
    case npyHeaderTooLarge(member: String, size: Int, limit: Int)
    case npyMalformedHeader(member: String, reason: String)
    case unsupportedDType(member: String, descr: String)
    case fortranOrder(member: String)
    case invalidShape(member: String, reason: String)
    case arrayTruncated(member: String, expectedBytes: Int, actualBytes: Int)
    case arrayTrailingBytes(member: String, expectedBytes: Int, actualBytes: Int)
    case checksumMismatch(name: String, expected: String, actual: String)
    case arrayNotInManifest(name: String)
    case arrayMissing(name: String, reason: String)
    case arrayUnexpected(name: String)
    case arrayShapeMismatch(name: String, expected: [Int], actual: [Int])
    case arrayDTypeMismatch(name: String, expected: String, actual: String)
    case nonFiniteValues(name: String, count: Int, firstIndex: Int)
    case invalidArrayValues(name: String, reason: String)
    case invalidArrayName(name: String, reason: String)

    /// Stable code of this failure, e.g. `container.crc_mismatch`.
    public var code: String {
        switch self {
        case .fileNotFound: return "io.not_found"
        case .ioFailure: return "io.failure"
        case .outputExists: return "io.output_exists"
        case .outputLocked: return "io.locked"
        case .foreignOutput: return "io.foreign_output"
        case .fileTooLarge: return "container.file_too_large"
        case .notZip: return "container.not_zip"
        case .notL2Z: return "container.not_l2z"
        case .truncated: return "container.truncated"
        case .bytesOutsideArchive: return "container.bytes_outside_archive"
        case .archiveComment: return "container.archive_comment"
        case .centralDirectoryInvalid: return "container.central_directory"
        case .localHeaderMismatch: return "container.local_header_mismatch"
        case .unsupportedZipFeature: return "container.unsupported_feature"
        case .compressedMember: return "container.compressed_member"
        case .overlappingMembers: return "container.overlapping_members"
        case .tooManyEntries: return "container.too_many_entries"
        case .invalidMemberName: return "container.invalid_member_name"
        case .duplicateMember: return "container.duplicate_member"
        case .unexpectedMember: return "container.unexpected_member"
        case .crcMismatch: return "container.crc_mismatch"
        case .misalignedArrayData: return "container.misaligned_data"
        case .manifestMissing: return "manifest.missing"
        case .manifestTooLarge: return "manifest.too_large"
        case .manifestNotUTF8: return "manifest.not_utf8"
        case .manifestInvalidJSON: return "manifest.invalid_json"
        case .manifestDuplicateKey: return "manifest.duplicate_key"
        case .manifestNonFiniteNumber: return "manifest.non_finite_number"
        case .manifestNumberOutOfRange: return "manifest.number_out_of_range"
        case .manifestTooDeep: return "manifest.too_deep"
        case .manifestUnknownKey: return "manifest.unknown_key"
        case .manifestMissingField: return "manifest.missing_field"
        case .manifestWrongType: return "manifest.wrong_type"
        case .manifestInvalidValue: return "manifest.invalid_value"
        case .wrongFormatName: return "manifest.wrong_format"
        case .malformedVersion: return "manifest.malformed_version"
        case .unsupportedFormatVersion: return "manifest.unsupported_version"
        case .unknownRequiredFeature: return "manifest.unknown_required_feature"
        case .unsupportedArchitecture: return "manifest.unsupported_architecture"
        case .wrongFamily: return "model.wrong_family"
        case .npyBadMagic: return "array.bad_magic"
        case .npyUnsupportedVersion: return "array.unsupported_npy_version"
        case .npyHeaderTooLarge: return "array.header_too_large"
        case .npyMalformedHeader: return "array.malformed_header"
        case .unsupportedDType: return "array.unsupported_dtype"
        case .fortranOrder: return "array.fortran_order"
        case .invalidShape: return "array.invalid_shape"
        case .arrayTruncated: return "array.truncated"
        case .arrayTrailingBytes: return "array.trailing_bytes"
        case .checksumMismatch: return "array.checksum_mismatch"
        case .arrayNotInManifest: return "array.not_in_manifest"
        case .arrayMissing: return "array.missing"
        case .arrayUnexpected: return "array.unexpected"
        case .arrayShapeMismatch: return "array.shape_mismatch"
        case .arrayDTypeMismatch: return "array.dtype_mismatch"
        case .nonFiniteValues: return "array.non_finite"
        case .invalidArrayValues: return "array.invalid_values"
        case .invalidArrayName: return "array.invalid_name"
        }
    }

    /// One line for a human: what was wrong, where, expected versus actual. Text quoted from the
    /// file (names, manifest strings) is escaped (``UntrustedText``): no control character reaches a terminal.
    public var message: String { UntrustedText.escaped(unescapedMessage) }

    var unescapedMessage: String {
        switch self {
        case let .fileNotFound(path): return "no such file: \(path)"
        case let .ioFailure(path, op, reason): return "\(op) failed for \(path): \(reason)"
        case let .outputExists(path): return "output \(path) exists; pass --force to replace it"
        case let .outputLocked(path): return "output \(path) is being written by another process (it holds the lock); wait for it or choose another output"
        case let .foreignOutput(path, reason): return "refusing to replace \(path): \(reason); --force replaces only an output this tool wrote. Move it away or choose another output"
        case let .fileTooLarge(size, limit): return "file is \(size) bytes, more than the limit of \(limit) bytes"
        case let .notZip(reason): return "not a zip archive: \(reason)"
        case let .notL2Z(reason): return "not an .l2z model: \(reason)"
        case let .truncated(reason): return "file is truncated: \(reason)"
        case let .bytesOutsideArchive(reason): return "bytes outside the archive: \(reason)"
        case let .archiveComment(length): return "archive has a \(length)-byte comment; .l2z files have none"
        case let .centralDirectoryInvalid(reason): return "central directory is invalid: \(reason)"
        case let .localHeaderMismatch(member, field, central, local):
            return "member \(member): \(field) is \(central) in the central directory but \(local) in the local header"
        case let .unsupportedZipFeature(member, feature): return "member \(member) uses \(feature), which .l2z forbids"
        case let .compressedMember(member, method):
            return "member \(member) is compressed (method \(method)); .l2z members must be stored (method 0)"
        case let .overlappingMembers(first, second): return "members \(first) and \(second) overlap"
        case let .tooManyEntries(count, limit): return "archive has \(count) entries, more than the limit of \(limit)"
        case let .invalidMemberName(name, reason): return "member name \(quoted(name)) is invalid: \(reason)"
        case let .duplicateMember(name): return "member name \(quoted(name)) appears more than once (names are compared after case folding)"
        case let .unexpectedMember(name, reason): return "unexpected member \(quoted(name)): \(reason)"
        case let .crcMismatch(member): return "member \(member): CRC-32 does not match its data"
        case let .misalignedArrayData(member, offset, alignment):
            return "member \(member): array data at file offset \(offset) is not aligned to \(alignment) bytes"
        case .manifestMissing: return "manifest.json is missing"
        case let .manifestTooLarge(size, limit): return "manifest.json is \(size) bytes, more than the limit of \(limit)"
        case .manifestNotUTF8: return "manifest.json is not valid UTF-8"
        case let .manifestInvalidJSON(offset, reason): return "manifest.json is not valid JSON at byte \(offset): \(reason)"
        case let .manifestDuplicateKey(path, reason): return "manifest.json: duplicate key at \(display(path)): \(reason)"
        case let .manifestNonFiniteNumber(path): return "manifest.json: NaN or Infinity literal at \(display(path)); JSON numbers must be finite"
        case let .manifestNumberOutOfRange(path, reason): return "manifest.json: number out of range at \(display(path)): \(reason)"
        case let .manifestTooDeep(limit): return "manifest.json nests deeper than \(limit) levels"
        case let .manifestUnknownKey(path): return "manifest.json: unknown key \(path) (extension keys start with \"x-\" and are allowed at the root only)"
        case let .manifestMissingField(path): return "manifest.json: required field \(path) is missing"
        case let .manifestWrongType(path, expected, actual): return "manifest.json: \(path) must be \(expected), found \(actual)"
        case let .manifestInvalidValue(path, expected, actual): return "manifest.json: \(path) must be \(expected), found \(actual)"
        case let .wrongFormatName(found): return "manifest.json: format is \(quoted(found)), expected \"l2z\""
        case let .malformedVersion(path, found): return "manifest.json: \(path) \(quoted(found)) is not of the form MAJOR.MINOR"
        case let .unsupportedFormatVersion(found, supported):
            return "format version \(found) is not supported by this reader (it reads \(supported)); upgrade l2hmc-swift"
        case let .unknownRequiredFeature(feature, fileVersion, readerVersion):
            return "file (format \(fileVersion)) requires feature \(quoted(feature)), unknown to this reader (format \(readerVersion))"
        case let .unsupportedArchitecture(found, supported): return "architecture \(found) is not supported (supported: \(supported))"
        case let .wrongFamily(found, expected): return "the model is a \(found) model; this command needs a \(expected) model"
        case let .npyBadMagic(member): return "member \(member) is not a .npy array (bad magic)"
        case let .npyUnsupportedVersion(member, found): return "member \(member): .npy version \(found) is not supported (expected 1.0)"
        case let .npyHeaderTooLarge(member, size, limit): return "member \(member): .npy header is \(size) bytes, more than the limit of \(limit)"
        case let .npyMalformedHeader(member, reason): return "member \(member): malformed .npy header: \(reason)"
        case let .unsupportedDType(member, descr):
            return "member \(member): dtype \(quoted(descr)) is not supported (use <f8, <f4, <i8, <i4, |u1 or |b1)"
        case let .fortranOrder(member): return "member \(member): Fortran-ordered arrays are not allowed; store C order"
        case let .invalidShape(member, reason): return "member \(member): invalid shape: \(reason)"
        case let .arrayTruncated(member, expected, actual):
            return "member \(member): header declares \(expected) data bytes but only \(actual) are present"
        case let .arrayTrailingBytes(member, expected, actual):
            return "member \(member): header declares \(expected) data bytes but \(actual) are present"
        case let .checksumMismatch(name, expected, actual):
            return "array \(name): SHA-256 of the data is \(actual), manifest records \(expected)"
        case let .arrayNotInManifest(name): return "array \(name) is stored but not listed in manifest.arrays"
        case let .arrayMissing(name, reason): return "array \(name) is missing: \(reason)"
        case let .arrayUnexpected(name): return "array \(name) is not used by the architecture described in the manifest"
        case let .arrayShapeMismatch(name, expected, actual): return "array \(name) has shape \(actual), expected \(expected)"
        case let .arrayDTypeMismatch(name, expected, actual): return "array \(name) has dtype \(actual), expected \(expected)"
        case let .nonFiniteValues(name, count, first):
            return "array \(name) has \(count) non-finite value(s), the first at flat index \(first)"
        case let .invalidArrayValues(name, reason): return "array \(name): \(reason)"
        case let .invalidArrayName(name, reason): return "array name \(quoted(name)) is invalid: \(reason)"
        }
    }
}

extension L2ZError: LocalizedError, CustomStringConvertible {
    public var errorDescription: String? { "[\(code)] \(message)" }
    public var description: String { "[\(code)] \(message)" }
}

private func quoted(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars.prefix(200) {
        if scalar.value < 0x20 || scalar.value == 0x7F {
            out += String(format: "\\x%02X", scalar.value)
        } else {
            out.unicodeScalars.append(scalar)
        }
    }
    return out + (s.unicodeScalars.count > 200 ? "...\"" : "\"")
}

private func display(_ path: String) -> String { path.isEmpty ? "the root" : path }

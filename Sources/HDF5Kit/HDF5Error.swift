import Foundation
import ModelFormat

/// Every way reading or writing an HDF5 file through HDF5Kit can fail.
///
/// HDF5's own error stack is never printed; its most specific messages end up in `reason`.
/// `path` is always the file on disk; `object` is always an absolute path inside the file
/// (`/dense/dense/kernel:0`), and an attribute is named `<object>@<attribute>`
/// (`/dense@weight_names`). Each case has a stable ``code``: codes never change meaning.
public enum HDF5Error: Error, CustomStringConvertible, Equatable, Sendable, LocalizedError {
    /// The file exists but carries no HDF5 signature (empty, text, zip, random bytes, ...).
    case notHDF5(path: String)
    /// The file could not be opened or created at all (missing, a directory, permissions, closed handle).
    case openFailed(path: String, reason: String)
    /// No object (or attribute) of that name in the file.
    case notFound(path: String, object: String)
    /// The object exists but is of another kind, e.g. a group where a dataset was asked for.
    case wrongType(object: String, expected: String, actual: String)
    /// The element type is not one HDF5Kit reads (strings in datasets, compound, float16, ...).
    case unsupportedDType(object: String, description: String)
    /// The values handed to a writer do not fill the shape; `actual` is `[value count]`.
    case shapeMismatch(object: String, expected: [Int], actual: [Int])
    /// Reading would need `bytes` bytes, more than `limit` bytes (the element limit times the element size).
    case tooLarge(object: String, bytes: Int, limit: Int)
    /// Creating, writing, flushing or renaming failed; `reason` names the object when there is one.
    case writeFailed(path: String, reason: String)
    /// The file has an HDF5 signature but HDF5 cannot make sense of it (truncated, damaged).
    case corrupt(path: String, reason: String)
    /// A dataset whose data lives in files outside this one (`H5Pset_external`): refused on open,
    /// before any data is read (reading it would read any file on the machine).
    case externalStorage(path: String, object: String, fileCount: Int)
    /// A virtual dataset (its data is mapped from other datasets, possibly other files): refused on open.
    case virtualDataset(path: String, object: String)
    /// A dataset stored through a filter HDF5Kit does not read (only deflate, shuffle and
    /// fletcher32 are read): refused on open.
    case unsupportedFilter(path: String, object: String, filter: String)
    /// An external or user-defined link (it would open another file): refused on open.
    case unsafeLink(path: String, link: String, kind: String)

    /// Stable machine-readable code, e.g. `hdf5.not_found`.
    public var code: String {
        switch self {
        case .notHDF5: return "hdf5.not_hdf5"
        case .openFailed: return "hdf5.open_failed"
        case .notFound: return "hdf5.not_found"
        case .wrongType: return "hdf5.wrong_type"
        case .unsupportedDType: return "hdf5.unsupported_dtype"
        case .shapeMismatch: return "hdf5.shape_mismatch"
        case .tooLarge: return "hdf5.too_large"
        case .writeFailed: return "hdf5.write_failed"
        case .corrupt: return "hdf5.corrupt"
        case .externalStorage: return "hdf5.external_storage"
        case .virtualDataset: return "hdf5.virtual_dataset"
        case .unsupportedFilter: return "hdf5.unsupported_filter"
        case .unsafeLink: return "hdf5.unsafe_link"
        }
    }

    /// One line for a human: what was wrong and where. Names and reasons quoted from the file
    /// are escaped (``ModelFormat/UntrustedText``): no control character reaches a terminal.
    public var message: String { UntrustedText.escaped(unescapedMessage) }

    var unescapedMessage: String {
        switch self {
        case let .notHDF5(path):
            return "\(path) is not an HDF5 file (no HDF5 signature)"
        case let .openFailed(path, reason):
            return "cannot open \(path): \(reason)"
        case let .notFound(path, object):
            return "\(object) not found in \(path)"
        case let .wrongType(object, expected, actual):
            return "\(object) is a \(actual), expected a \(expected)"
        case let .unsupportedDType(object, description):
            return "\(object) has an unsupported element type: \(description)"
        case let .shapeMismatch(object, expected, actual):
            return "\(object): expected shape \(expected), got \(actual)"
        case let .tooLarge(object, bytes, limit):
            return "\(object) needs \(bytes) bytes, more than the limit of \(limit) bytes"
        case let .writeFailed(path, reason):
            return "writing \(path) failed: \(reason)"
        case let .corrupt(path, reason):
            return "\(path) is damaged or truncated: \(reason)"
        case let .externalStorage(path, object, count):
            return "\(path): dataset \(object) keeps its data in \(count) external file(s) outside this file (HDF5 external storage); refused, nothing was read"
        case let .virtualDataset(path, object):
            return "\(path): dataset \(object) is a virtual dataset (its data is mapped from other datasets or files); refused, nothing was read"
        case let .unsupportedFilter(path, object, filter):
            return "\(path): dataset \(object) is stored through filter \(filter); only deflate (gzip), shuffle and fletcher32 are read"
        case let .unsafeLink(path, link, kind):
            return "\(path): \(link) is \(kind) (it would open another file); refused, nothing was read"
        }
    }

    public var description: String { "[\(code)] \(message)" }
    public var errorDescription: String? { description }
}

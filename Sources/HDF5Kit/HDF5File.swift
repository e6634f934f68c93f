import CHDF5

/// An open HDF5 file.
///
/// Contract:
/// - Every failure is thrown as ``HDF5Error``; HDF5 never prints to stderr and no input file,
///   however damaged, makes this library trap. Files without the HDF5 signature never reach the
///   HDF5 library at all (``HDF5Error/notHDF5(path:)``).
/// - Object paths are absolute inside the file; a missing leading `/` is added and repeated
///   slashes collapse (`dense//kernel:0` is `/dense/kernel:0`). `/` is the root group. Names may
///   contain any character but `/` (Keras' `kernel:0` works).
/// - `deinit` closes a file still open, but only an explicit ``close()`` reports a failed flush.
/// - An instance is not safe to share between threads; separate instances on separate threads
///   are (Debian's libhdf5 is a thread-safe build).
/// - Datasets and attributes are read in the machine's byte order whatever the file's; files are
///   written with little-endian standard types in the HDF5 1.8 format (readable by HDF5 >= 1.8,
///   h5py, Keras), which also allows attributes larger than 64 KiB.
public final class HDF5File {
    /// Default element limit of ``readDataset(_:maxElements:)`` and ``readAttribute(_:_:)``: 2^31.
    public static let defaultMaxElements = 1 << 31

    /// The file on disk, as given to ``open(_:)`` or ``create(_:)``.
    public let path: String
    /// True for files made by ``create(_:)``.
    public let isWritable: Bool
    /// The HDF5 file id; negative once closed.
    private(set) var fileID: hid_t

    init(path: String, fileID: hid_t, isWritable: Bool) {
        self.path = path
        self.fileID = fileID
        self.isWritable = isWritable
    }

    deinit { try? close() }

    /// Opens an existing file read-only.
    ///
    /// Throws `openFailed` when the file cannot be read (missing, a directory, permissions),
    /// `notHDF5` when it carries no HDF5 signature (empty, text, zip, random bytes), and `corrupt`
    /// when it has the signature but HDF5 cannot open it (for example a truncated file).
    /// Then, before any data is read, refuses external and user-defined links, external raw
    /// storage, virtual datasets and filters other than deflate, shuffle and fletcher32
    /// (``refuseUnsafeStructure()``): nothing outside the file is ever read through it.
    public static func open(_ path: String) throws -> HDF5File {
        try openExisting(path, writable: false)
    }

    /// The checked opening shared by ``open(_:)`` and ``openForUpdate(_:)``.
    static func openExisting(_ path: String, writable: Bool) throws -> HDF5File {
        HDF5Runtime.prepare()
        switch HDF5Runtime.probe(path) {
        case .hdf5: break
        case .notHDF5: throw HDF5Error.notHDF5(path: path)
        case let .unreadable(reason): throw HDF5Error.openFailed(path: path, reason: reason)
        }
        let fapl = try makeAccessList(path: path, onFailure: HDF5Error.openFailed)
        defer { H5Pclose(fapl) }
        let id = H5Fopen(path, writable ? l2h_f_acc_rdwr() : l2h_f_acc_rdonly(), fapl)
        guard id >= 0 else {
            throw HDF5Error.corrupt(path: path, reason: HDF5Runtime.takeErrorReason(fallback: writable ? "H5Fopen for writing failed" : "H5Fopen failed"))
        }
        let file = HDF5File(path: path, fileID: id, isWritable: writable)
        do { try file.refuseUnsafeStructure() } catch {
            try? file.close()
            throw error
        }
        return file
    }

    /// Creates `path` for writing, truncating any existing file (intended for a temporary path;
    /// see ``HDF5Atomic`` for replacing a file safely). Throws `writeFailed` on failure.
    public static func create(_ path: String) throws -> HDF5File {
        HDF5Runtime.prepare()
        let fapl = try makeAccessList(path: path, onFailure: HDF5Error.writeFailed)
        defer { H5Pclose(fapl) }
        guard H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18) >= 0 else {
            throw HDF5Error.writeFailed(path: path, reason: HDF5Runtime.takeErrorReason(fallback: "cannot set format version"))
        }
        // No object modification times (the root group's come from the creation list), so the
        // same contents give the same bytes whenever they are written.
        let fcpl = H5Pcreate(l2h_p_file_create())
        guard fcpl >= 0, H5Pset_obj_track_times(fcpl, false) >= 0 else {
            if fcpl >= 0 { H5Pclose(fcpl) }
            throw HDF5Error.writeFailed(path: path, reason: HDF5Runtime.takeErrorReason(fallback: "cannot configure file creation"))
        }
        defer { H5Pclose(fcpl) }
        let id = H5Fcreate(path, l2h_f_acc_trunc(), fcpl, fapl)
        guard id >= 0 else {
            throw HDF5Error.writeFailed(path: path, reason: HDF5Runtime.takeErrorReason(fallback: "H5Fcreate failed"))
        }
        return HDF5File(path: path, fileID: id, isWritable: true)
    }

    /// File access list: closing the file closes every object still open in it, and file
    /// locking does not fail on file systems without locks.
    static func makeAccessList(path: String, onFailure: (String, String) -> HDF5Error) throws -> hid_t {
        let fapl = H5Pcreate(l2h_p_file_access())
        guard fapl >= 0 else { throw onFailure(path, HDF5Runtime.takeErrorReason(fallback: "H5Pcreate failed")) }
        guard H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) >= 0, l2h_set_lenient_file_locking(fapl) >= 0 else {
            H5Pclose(fapl)
            throw onFailure(path, HDF5Runtime.takeErrorReason(fallback: "cannot configure file access"))
        }
        return fapl
    }

    /// True until ``close()``.
    public var isOpen: Bool { fileID >= 0 }

    /// Flushes (for written files) and closes. Idempotent: closing a closed file does nothing.
    /// Throws `writeFailed` when flushing or closing a written file fails; the handle is closed
    /// either way.
    public func close() throws {
        guard fileID >= 0 else { return }
        HDF5Runtime.prepare()
        let id = fileID
        fileID = -1
        let flushed = isWritable ? H5Fflush(id, H5F_SCOPE_GLOBAL) >= 0 : true
        let flushReason = flushed ? "" : HDF5Runtime.takeErrorReason(fallback: "H5Fflush failed")
        let closed = H5Fclose(id) >= 0
        let closeReason = closed ? "" : HDF5Runtime.takeErrorReason(fallback: "H5Fclose failed")
        if isWritable, !flushed || !closed {
            throw HDF5Error.writeFailed(path: path, reason: flushed ? closeReason : flushReason)
        }
    }

    /// True when `object` names an existing group, dataset or named datatype (`/` always exists
    /// in an open file). Dangling soft links and paths through datasets are false; never throws.
    public func exists(_ object: String) -> Bool {
        guard fileID >= 0, let name = Self.normalize(object) else { return false }
        HDF5Runtime.prepare()
        defer { H5Eclear2(l2h_e_default()) }
        if name == "/" { return true }
        var prefix = ""
        for component in name.split(separator: "/") {
            prefix += "/" + component
            guard H5Lexists(fileID, prefix, l2h_p_default()) > 0 else { return false }
        }
        return H5Oexists_by_name(fileID, name, l2h_p_default()) > 0
    }

    /// Describes one object (kind, and for datasets shape and element type) without reading data.
    public func info(_ object: String) throws -> HDF5Object {
        let name = try resolve(object)
        return try describe(name, kind: kind(of: name))
    }

    /// Creates a group and any missing parent groups; does nothing when the group exists.
    /// Throws `wrongType` when the path names a dataset.
    public func createGroup(_ object: String) throws {
        let id = try requireWritable()
        guard let name = Self.normalize(object) else {
            throw HDF5Error.writeFailed(path: path, reason: "invalid object path '\(object)'")
        }
        if exists(name) {
            let actual = try kind(of: name)
            guard actual == .group else {
                throw HDF5Error.wrongType(object: name, expected: "group", actual: actual.words)
            }
            return
        }
        let lcpl = try makeLinkCreationList()
        defer { H5Pclose(lcpl) }
        let gcpl = H5Pcreate(l2h_p_group_create())
        guard gcpl >= 0, H5Pset_obj_track_times(gcpl, false) >= 0 else {
            if gcpl >= 0 { H5Pclose(gcpl) }
            throw writeFailure("configuring group \(name)")
        }
        defer { H5Pclose(gcpl) }
        let group = H5Gcreate2(id, name, lcpl, gcpl, l2h_p_default())
        guard group >= 0 else { throw writeFailure("creating group \(name)") }
        H5Gclose(group)
    }

    /// Number of HDF5 objects (including the file itself) open in this file: 1 when nothing leaks.
    var openObjectCount: Int {
        guard fileID >= 0 else { return 0 }
        return Int(H5Fget_obj_count(fileID, l2h_f_obj_all()))
    }
}

// MARK: - Shared internals

extension HDF5File {
    /// `/a/b` form of an object path, or nil for the empty string.
    static func normalize(_ object: String) -> String? {
        guard !object.isEmpty else { return nil }
        let components = object.split(separator: "/", omittingEmptySubsequences: true)
        return "/" + components.joined(separator: "/")
    }

    func requireOpen() throws -> hid_t {
        HDF5Runtime.prepare()
        guard fileID >= 0 else { throw HDF5Error.openFailed(path: path, reason: "the file was closed") }
        return fileID
    }

    func requireWritable() throws -> hid_t {
        let id = try requireOpen()
        guard isWritable else { throw HDF5Error.writeFailed(path: path, reason: "the file is open read-only") }
        return id
    }

    /// The normalized path of an existing object, or `notFound`.
    func resolve(_ object: String) throws -> String {
        _ = try requireOpen()
        guard let name = Self.normalize(object), exists(name) else {
            throw HDF5Error.notFound(path: path, object: Self.normalize(object) ?? object)
        }
        return name
    }

    /// Kind of an existing object (by normalized path).
    func kind(of name: String) throws -> HDF5Object.Kind {
        let object = H5Oopen(fileID, name, l2h_p_default())
        guard object >= 0 else { throw corruption("opening \(name)") }
        defer { H5Oclose(object) }
        switch H5Iget_type(object) {
        case H5I_GROUP: return .group
        case H5I_DATASET: return .dataset
        case H5I_DATATYPE: return .namedDatatype
        default: throw HDF5Error.corrupt(path: path, reason: "\(name) is neither a group, a dataset nor a datatype")
        }
    }

    /// `wrongType` unless the existing object `name` is of kind `expected`.
    func expect(_ name: String, is expected: HDF5Object.Kind) throws {
        let actual = try kind(of: name)
        guard actual == expected else {
            throw HDF5Error.wrongType(object: name, expected: expected.words, actual: actual.words)
        }
    }

    /// Link creation list that creates missing intermediate groups.
    func makeLinkCreationList() throws -> hid_t {
        let lcpl = H5Pcreate(l2h_p_link_create())
        guard lcpl >= 0 else { throw writeFailure("creating a link property list") }
        guard H5Pset_create_intermediate_group(lcpl, 1) >= 0 else {
            H5Pclose(lcpl)
            throw writeFailure("configuring a link property list")
        }
        return lcpl
    }

    /// `corrupt` with HDF5's own reason, prefixed by what was being done.
    func corruption(_ doing: String) -> HDF5Error {
        .corrupt(path: path, reason: "\(doing): " + HDF5Runtime.takeErrorReason(fallback: "HDF5 call failed"))
    }

    /// `writeFailed` with HDF5's own reason, prefixed by what was being done.
    func writeFailure(_ doing: String) -> HDF5Error {
        .writeFailed(path: path, reason: "\(doing): " + HDF5Runtime.takeErrorReason(fallback: "HDF5 call failed"))
    }
}

extension HDF5Object.Kind {
    /// `group`, `dataset` or `named datatype`, for messages.
    var words: String {
        switch self {
        case .group: return "group"
        case .dataset: return "dataset"
        case .namedDatatype: return "named datatype"
        }
    }
}

import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An `.npy` file whose first dimension grows: a fixed 128-byte header followed by C-order rows
/// appended at the end.
///
/// Contract: the header states the number of rows of the last ``commitHeader()``; the data may
/// hold more rows after it (appended since), which numpy ignores (`np.load` reads exactly the
/// declared count), so the file always reads as a valid prefix. ``open(path:dtype:rowShape:rows:)``
/// cuts the data back to a committed row count and rewrites the header: the way a resumed run
/// drops the rows a kill left beyond its last checkpoint.
public final class GrowingNpyFile {
    public let path: String
    public let dtype: DType
    /// Shape of one row (the array is [rows] + rowShape).
    public let rowShape: [Int]
    /// Bytes of one row.
    public let rowBytes: Int
    /// Rows written so far (the header may state fewer until ``commitHeader()``).
    public private(set) var rows: Int
    private var fd: Int32

    /// Total header size in bytes (a multiple of 64, as numpy writes).
    public static let headerLength = 128

    private init(path: String, dtype: DType, rowShape: [Int], rows: Int, fd: Int32) {
        self.path = path; self.dtype = dtype; self.rowShape = rowShape; self.rows = rows; self.fd = fd
        rowBytes = rowShape.reduce(1, *) * dtype.itemSize
    }

    deinit { if fd >= 0 { Glibc.close(fd) } }

    /// Creates a new file with zero rows; fails if `path` exists.
    public static func create(path: String, dtype: DType, rowShape: [Int]) throws -> GrowingNpyFile {
        let fd = Glibc.open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            if errno == EEXIST { throw L2ZError.outputExists(path: path) }
            throw L2ZError.ioFailure(path: path, operation: "create", reason: SystemError.text)
        }
        let file = GrowingNpyFile(path: path, dtype: dtype, rowShape: rowShape, rows: 0, fd: fd)
        try file.commitHeader()
        return file
    }

    /// Opens a file written by this type and checks its dtype, row shape and that it holds at
    /// least `rows` rows; nothing is changed until ``cutToRows()``.
    public static func open(path: String, dtype: DType, rowShape: [Int], rows: Int) throws -> GrowingNpyFile {
        let fd = Glibc.open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else {
            if errno == ENOENT { throw L2ZError.fileNotFound(path: path) }
            throw L2ZError.ioFailure(path: path, operation: "open", reason: SystemError.text)
        }
        let file = GrowingNpyFile(path: path, dtype: dtype, rowShape: rowShape, rows: rows, fd: fd)
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            throw L2ZError.ioFailure(path: path, operation: "open", reason: "not a regular file")
        }
        var head = [UInt8](repeating: 0, count: headerLength)
        guard Int(st.st_size) >= headerLength, pread(fd, &head, headerLength, 0) == headerLength else {
            throw L2ZError.arrayTruncated(member: path, expectedBytes: headerLength, actualBytes: Int(st.st_size))
        }
        // The header must be exactly the one this type writes for our dtype and row shape; its
        // row count is ignored (the caller's committed count decides).
        let declaredRows = try head.withUnsafeBytes { raw -> Int in
            let length = Int(raw[8]) | (Int(raw[9]) << 8)
            guard 10 + length == headerLength else {
                throw L2ZError.npyMalformedHeader(member: path, reason: "header is \(10 + length) bytes, expected \(headerLength)")
            }
            guard let text = String(bytes: Array(raw[10..<headerLength]), encoding: .ascii), text.contains("'shape': (") else {
                throw L2ZError.npyMalformedHeader(member: path, reason: "header is not ASCII")
            }
            return try declaredRowCount(text, member: path)
        }
        guard declaredRows >= 0, declaredRows <= 1 << 40 else {
            throw L2ZError.invalidShape(member: path, reason: "declared row count \(declaredRows) is out of range")
        }
        guard head == header(rows: declaredRows, file: file) else {
            throw L2ZError.npyMalformedHeader(member: path, reason: "header is not the one this tool writes for dtype \(dtype.npyDescr) and rows of shape \(rowShape)")
        }
        let (need, overflow) = rows.multipliedReportingOverflow(by: file.rowBytes)
        guard !overflow, Int(st.st_size) - headerLength >= need else {
            throw L2ZError.arrayTruncated(member: path, expectedBytes: headerLength + need, actualBytes: Int(st.st_size))
        }
        return file
    }

    /// Cuts the data back to ``rows`` rows (dropping rows appended after the last commit) and
    /// rewrites the header.
    public func cutToRows() throws {
        guard ftruncate(fd, off_t(Self.headerLength + rows * rowBytes)) == 0 else {
            throw L2ZError.ioFailure(path: path, operation: "truncate", reason: SystemError.text)
        }
        try commitHeader()
    }

    /// Appends whole rows (`bytes.count` must be a multiple of ``rowBytes``).
    public func append(_ bytes: [UInt8]) throws {
        guard rowBytes == 0 ? bytes.isEmpty : bytes.count % rowBytes == 0 else {
            throw L2ZError.invalidShape(member: path, reason: "append of \(bytes.count) bytes is not a whole number of \(rowBytes)-byte rows")
        }
        let offset = off_t(Self.headerLength + rows * rowBytes)
        var done = 0
        try bytes.withUnsafeBytes { raw in
            while done < raw.count {
                let n = pwrite(fd, raw.baseAddress! + done, raw.count - done, offset + off_t(done))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw L2ZError.ioFailure(path: path, operation: "write", reason: SystemError.text)
                }
                done += n
            }
        }
        if rowBytes > 0 { rows += bytes.count / rowBytes }
    }

    /// Makes the appended rows durable (fsync).
    public func sync() throws {
        guard fsync(fd) == 0 else { throw L2ZError.ioFailure(path: path, operation: "fsync", reason: SystemError.text) }
    }

    /// Rewrites the header to state the rows written so far.
    public func commitHeader() throws {
        let head = Self.header(rows: rows, file: self)
        guard pwrite(fd, head, head.count, 0) == head.count else {
            throw L2ZError.ioFailure(path: path, operation: "write header", reason: SystemError.text)
        }
    }

    /// The data of the first `rows` rows.
    public func readRows() throws -> [UInt8] {
        let total = rows * rowBytes
        var out = [UInt8](repeating: 0, count: total)
        var done = 0
        try out.withUnsafeMutableBytes { raw in
            while done < total {
                let n = pread(fd, raw.baseAddress! + done, total - done, off_t(Self.headerLength + done))
                if n < 0 { if errno == EINTR { continue }; throw L2ZError.ioFailure(path: path, operation: "read", reason: SystemError.text) }
                if n == 0 { throw L2ZError.arrayTruncated(member: path, expectedBytes: total, actualBytes: done) }
                done += n
            }
        }
        return out
    }

    public func close() {
        if fd >= 0 { Glibc.close(fd); fd = -1 }
    }

    private static func header(rows: Int, file: GrowingNpyFile) -> [UInt8] {
        NpyCodec.header(dtype: file.dtype, shape: [rows] + file.rowShape, length: headerLength)
    }

    /// The first number of `'shape': (N, ...)` in a header dict.
    private static func declaredRowCount(_ text: String, member: String) throws -> Int {
        guard let range = text.range(of: "'shape': (") else {
            throw L2ZError.npyMalformedHeader(member: member, reason: "no shape")
        }
        let digits = text[range.upperBound...].prefix { $0.isNumber }
        guard !digits.isEmpty, digits.count <= 15, let n = Int(digits) else {
            throw L2ZError.npyMalformedHeader(member: member, reason: "shape does not start with a row count")
        }
        return n
    }

}

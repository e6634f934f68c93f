import CHDF5

/// Datasets that grow by rows: chunked, with an unlimited first dimension, for files written a
/// little at a time (a run's saved configurations).
///
/// Contract:
/// - A row is one index of the first dimension; `rowShape` is the shape of one row (`[]` for a
///   1-D dataset of scalars). Rows are written and read in C order, native byte order.
/// - ``appendRows(_:raw:)`` extends the dataset and writes the new rows in one step; nothing
///   written before is rewritten. ``setRowCount(_:_:)`` only shrinks (the rows cut off are
///   gone; their chunks stay allocated in the file, as HDF5 never returns file space).
/// - Like every dataset HDF5Kit writes, no modification time is stored, so the same appends
///   give the same bytes.
/// - HDF5 does not journal: a process killed while an append is being written (between
///   ``openForUpdate(_:)`` and ``close()``) may leave the file unreadable. Callers that need
///   durability keep the file closed between appends (see docs/RUNTIME.md, saved ensembles).
extension HDF5File {
    /// Opens an existing file for reading and writing. Refuses files HDF5Kit would not read
    /// (see ``open(_:)``) with the same errors.
    public static func openForUpdate(_ path: String) throws -> HDF5File {
        try openExisting(path, writable: true)
    }

    /// Creates an empty dataset of shape `[0] + rowShape` that can grow without limit along its
    /// first dimension, stored in chunks of `chunkRows` rows (>= 1). Throws `writeFailed` when
    /// the object exists, a dimension is not positive, or HDF5 fails.
    public func createExtendibleDataset(_ object: String, dtype: HDF5DType, rowShape: [Int], chunkRows: Int) throws {
        let id = try requireWritable()
        guard let name = Self.normalize(object), name != "/" else {
            throw HDF5Error.writeFailed(path: path, reason: "'\(object)' is not a valid dataset path")
        }
        guard chunkRows >= 1, rowShape.allSatisfy({ $0 >= 1 }), HDF5Array.elementCount([chunkRows] + rowShape) != nil else {
            throw HDF5Error.writeFailed(path: path, reason: "\(name): invalid row shape \(rowShape) or chunk of \(chunkRows) rows")
        }
        guard !exists(name) else { throw HDF5Error.writeFailed(path: path, reason: "\(name) already exists") }
        let dims = [hsize_t(0)] + rowShape.map { hsize_t($0) }
        let maxDims = [l2h_s_unlimited()] + rowShape.map { hsize_t($0) }
        let space = H5Screate_simple(Int32(dims.count), dims, maxDims)
        guard space >= 0 else { throw writeFailure("making the dataspace of \(name)") }
        defer { H5Sclose(space) }
        guard let fileType = dtype.fileType() else { throw writeFailure("making the type of \(name)") }
        defer { fileType.close() }
        let lcpl = try makeLinkCreationList()
        defer { H5Pclose(lcpl) }
        let dcpl = H5Pcreate(l2h_p_dataset_create())
        let chunk = [hsize_t(chunkRows)] + rowShape.map { hsize_t($0) }
        guard dcpl >= 0, H5Pset_obj_track_times(dcpl, false) >= 0, H5Pset_chunk(dcpl, Int32(chunk.count), chunk) >= 0 else {
            if dcpl >= 0 { H5Pclose(dcpl) }
            throw writeFailure("configuring dataset \(name)")
        }
        defer { H5Pclose(dcpl) }
        let dataset = H5Dcreate2(id, name, fileType.id, space, lcpl, dcpl, l2h_p_default())
        guard dataset >= 0 else { throw writeFailure("creating dataset \(name)") }
        H5Dclose(dataset)
    }

    /// Rows in dataset `object` (its first dimension). Throws `notFound`, `wrongType`, and
    /// `corrupt` for a scalar dataset.
    public func rowCount(_ object: String) throws -> Int {
        let name = try resolve(object)
        try expect(name, is: .dataset)
        return try withDataset(name) { _, _, space in
            let shape = try shapeOf(space: space, object: name)
            guard let rows = shape.first else { throw HDF5Error.corrupt(path: path, reason: "\(name) is a scalar, not a dataset of rows") }
            return rows
        }
    }

    /// Appends whole rows given as native-order bytes of the dataset's element type (a multiple
    /// of one row's bytes); returns the new row count. Throws `shapeMismatch` when the bytes are
    /// not whole rows of an extendible dataset of that type, `writeFailed` when HDF5 fails.
    @discardableResult
    public func appendRows(_ object: String, raw: [UInt8]) throws -> Int {
        let id = try requireWritable()
        let name = try resolve(object)
        try expect(name, is: .dataset)
        _ = id
        return try withDataset(name) { dataset, type, space in
            let shape = try shapeOf(space: space, object: name)
            guard let rows = shape.first, case let .success(dtype) = HDF5DType.classify(type) else {
                throw HDF5Error.writeFailed(path: path, reason: "\(name) is not an extendible dataset of a numeric type")
            }
            let rowShape = Array(shape.dropFirst())
            let rowBytes = (HDF5Array.elementCount(rowShape) ?? 0) * dtype.byteSize
            guard rowBytes > 0, raw.count % rowBytes == 0 else {
                throw HDF5Error.shapeMismatch(object: name, expected: [0] + rowShape, actual: [raw.count / max(dtype.byteSize, 1)])
            }
            let added = raw.count / rowBytes
            guard added > 0 else { return rows }
            let newDims = [hsize_t(rows + added)] + rowShape.map { hsize_t($0) }
            guard H5Dset_extent(dataset, newDims) >= 0 else { throw writeFailure("extending \(name) to \(rows + added) rows") }
            let fileSpace = H5Dget_space(dataset)
            guard fileSpace >= 0 else { throw writeFailure("reading the shape of \(name)") }
            defer { H5Sclose(fileSpace) }
            let start = [hsize_t(rows)] + rowShape.map { _ in hsize_t(0) }
            let count = [hsize_t(added)] + rowShape.map { hsize_t($0) }
            guard H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, start, nil, count, nil) >= 0 else {
                throw writeFailure("selecting rows of \(name)")
            }
            let memorySpace = H5Screate_simple(Int32(count.count), count, nil)
            guard memorySpace >= 0 else { throw writeFailure("making a dataspace for \(name)") }
            defer { H5Sclose(memorySpace) }
            guard let memoryType = dtype.memoryType() else { throw writeFailure("making the type of \(name)") }
            defer { memoryType.close() }
            let status = raw.withUnsafeBytes { H5Dwrite(dataset, memoryType.id, memorySpace, fileSpace, l2h_p_default(), $0.baseAddress) }
            guard status >= 0 else { throw writeFailure("writing rows \(rows)..<\(rows + added) of \(name)") }
            return rows + added
        }
    }

    /// Appends float64 rows (see ``appendRows(_:raw:)``; the dataset must be float64).
    @discardableResult
    public func appendRows(_ object: String, doubles: [Double]) throws -> Int {
        try requireType(object, .float64)
        return try appendRows(object, raw: doubles.withUnsafeBytes { Array($0) })
    }

    /// Appends int64 rows (see ``appendRows(_:raw:)``; the dataset must be int64).
    @discardableResult
    public func appendRows(_ object: String, int64s: [Int64]) throws -> Int {
        try requireType(object, .int64)
        return try appendRows(object, raw: int64s.withUnsafeBytes { Array($0) })
    }

    /// Cuts an extendible dataset back to its first `rows` rows (`rows` at most the current
    /// count; equal does nothing). Throws `writeFailed` otherwise.
    public func setRowCount(_ object: String, _ rows: Int) throws {
        _ = try requireWritable()
        let name = try resolve(object)
        try expect(name, is: .dataset)
        try withDataset(name) { dataset, _, space in
            let shape = try shapeOf(space: space, object: name)
            guard let current = shape.first, rows >= 0, rows <= current else {
                throw HDF5Error.writeFailed(path: path, reason: "\(name): cannot set \(rows) rows on a dataset of shape \(shape) (only shrinking)")
            }
            guard rows < current else { return }
            let dims = [hsize_t(rows)] + shape.dropFirst().map { hsize_t($0) }
            guard H5Dset_extent(dataset, dims) >= 0 else { throw writeFailure("cutting \(name) to \(rows) rows") }
        }
    }

    /// Reads rows `range` of a dataset of rows (any layout), with the file's element type.
    /// Throws `tooLarge` beyond `maxElements` elements, `shapeMismatch` for a range outside the
    /// dataset, `corrupt` when HDF5 cannot read it.
    public func readRows(_ object: String, _ range: Range<Int>, maxElements: Int = HDF5File.defaultMaxElements) throws -> HDF5Array {
        let name = try resolve(object)
        try expect(name, is: .dataset)
        return try withDataset(name) { dataset, type, space in
            let shape = try shapeOf(space: space, object: name)
            let dtype = try readableDType(type, object: name)
            guard let rows = shape.first, range.lowerBound >= 0, range.upperBound <= rows else {
                throw HDF5Error.shapeMismatch(object: name, expected: shape, actual: [range.lowerBound, range.upperBound])
            }
            let outShape = [range.count] + shape.dropFirst()
            let count = try checkedCount(outShape, elementSize: dtype.byteSize, maxElements: maxElements, object: name)
            var raw = [UInt8](repeating: 0, count: count * dtype.byteSize)
            if count > 0 {
                let fileSpace = H5Dget_space(dataset)
                guard fileSpace >= 0 else { throw corruption("reading the shape of \(name)") }
                defer { H5Sclose(fileSpace) }
                let start = [hsize_t(range.lowerBound)] + shape.dropFirst().map { _ in hsize_t(0) }
                let dims = outShape.map { hsize_t($0) }
                guard H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, start, nil, dims, nil) >= 0 else { throw corruption("selecting rows of \(name)") }
                let memorySpace = H5Screate_simple(Int32(dims.count), dims, nil)
                guard memorySpace >= 0 else { throw corruption("making a dataspace for \(name)") }
                defer { H5Sclose(memorySpace) }
                guard let memory = dtype.memoryType() else { throw corruption("making the memory type of \(name)") }
                defer { memory.close() }
                let status = raw.withUnsafeMutableBytes { H5Dread(dataset, memory.id, memorySpace, fileSpace, l2h_p_default(), $0.baseAddress) }
                guard status >= 0 else { throw corruption("reading rows of \(name)") }
            }
            guard let array = HDF5Array(dtype: dtype, shape: outShape, raw: raw) else {
                throw HDF5Error.corrupt(path: path, reason: "\(name): size does not match shape \(outShape)")
            }
            return array
        }
    }

    private func requireType(_ object: String, _ dtype: HDF5DType) throws {
        let found = try info(object)
        guard found.dtype == dtype else {
            throw HDF5Error.writeFailed(path: path, reason: "\(found.path) holds \(found.typeDescription ?? "another type"), not \(dtype.rawValue)")
        }
    }
}

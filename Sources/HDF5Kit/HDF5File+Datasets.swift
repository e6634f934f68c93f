import CHDF5

    /// The element type of a dataset this library reads, or `unsupportedDType` naming `object`.
    func readableDType(_ type: hid_t, object: String) throws -> HDF5DType {
        switch HDF5DType.classify(type) {
        case let .success(found): return found
        case let .failure(refusal): throw HDF5Error.unsupportedDType(object: object, description: refusal.description)
        }
    }

extension HDF5File {
    /// Reads a whole dataset with the file's own element type (see ``HDF5DType``).
    ///
    /// Throws `notFound`, `wrongType` (a group), `unsupportedDType` (strings, compound, float16,
    /// non-boolean enums, ...), `tooLarge` when the dataset holds more than `maxElements` elements
    /// (checked before anything is allocated) and `corrupt` when HDF5 cannot read the data
    /// (damaged file, missing compression filter).
    public func readDataset(_ object: String, maxElements: Int = HDF5File.defaultMaxElements) throws -> HDF5Array {
        let name = try resolve(object)
        try expect(name, is: .dataset)
        return try withDataset(name) { dataset, type, space in
            let shape = try shapeOf(space: space, object: name)
            let dtype = try readableDType(type, object: name)
            let count = try checkedCount(shape, elementSize: dtype.byteSize, maxElements: maxElements, object: name)
            var raw = [UInt8](repeating: 0, count: count * dtype.byteSize)
            if count > 0 {
                guard let memory = dtype.memoryType() else { throw corruption("making the memory type of \(name)") }
                defer { memory.close() }
                let status = raw.withUnsafeMutableBytes {
                    H5Dread(dataset, memory.id, l2h_s_all(), l2h_s_all(), l2h_p_default(), $0.baseAddress)
                }
                guard status >= 0 else { throw corruption("reading \(name)") }
            }
            guard let array = HDF5Array(dtype: dtype, shape: shape, raw: raw) else {
                throw HDF5Error.corrupt(path: path, reason: "\(name): size does not match shape \(shape)")
            }
            return array
        }
    }

    /// Writes `doubles` (C order) as a new dataset of element type `dtype`, creating missing
    /// parent groups. `shape: []` writes a scalar.
    ///
    /// float32 rounds to nearest; integer and bool types need every value to be exactly
    /// representable (`1.5` or `300` as int8 is a `writeFailed` naming the index). Throws
    /// `shapeMismatch` when the value count is not the product of `shape`, `writeFailed` when the
    /// object already exists, the file is read-only, or HDF5 fails.
    public func writeDataset(_ object: String, shape: [Int], doubles: [Double], as dtype: HDF5DType = .float64) throws {
        let name = try checkedWriteTarget(object, shape: shape, valueCount: doubles.count)
        try writeRaw(name, shape: shape, dtype: dtype, raw: try encode(doubles, as: dtype, object: name))
    }

    /// Writes float32 values (stored exactly).
    public func writeDataset(_ object: String, shape: [Int], floats: [Float]) throws {
        let name = try checkedWriteTarget(object, shape: shape, valueCount: floats.count)
        try writeRaw(name, shape: shape, dtype: .float32, raw: floats.withUnsafeBytes { Array($0) })
    }

    /// Writes int64 values.
    public func writeDataset(_ object: String, shape: [Int], int64s: [Int64]) throws {
        let name = try checkedWriteTarget(object, shape: shape, valueCount: int64s.count)
        try writeRaw(name, shape: shape, dtype: .int64, raw: int64s.withUnsafeBytes { Array($0) })
    }

    /// Writes int32 values.
    public func writeDataset(_ object: String, shape: [Int], int32s: [Int32]) throws {
        let name = try checkedWriteTarget(object, shape: shape, valueCount: int32s.count)
        try writeRaw(name, shape: shape, dtype: .int32, raw: int32s.withUnsafeBytes { Array($0) })
    }

    /// Writes uint8 values.
    public func writeDataset(_ object: String, shape: [Int], uint8s: [UInt8]) throws {
        let name = try checkedWriteTarget(object, shape: shape, valueCount: uint8s.count)
        try writeRaw(name, shape: shape, dtype: .uint8, raw: uint8s)
    }

    /// Writes booleans as h5py does (see ``HDF5DType/bool``).
    public func writeDataset(_ object: String, shape: [Int], bools: [Bool]) throws {
        let name = try checkedWriteTarget(object, shape: shape, valueCount: bools.count)
        try writeRaw(name, shape: shape, dtype: .bool, raw: bools.map { $0 ? 1 : 0 })
    }

    /// Writes an array read from this or another file, element type and bytes unchanged.
    public func writeDataset(_ object: String, _ array: HDF5Array) throws {
        let name = try checkedWriteTarget(object, shape: array.shape, valueCount: array.count)
        try writeRaw(name, shape: array.shape, dtype: array.dtype, raw: array.raw)
    }

    // MARK: Internals

    /// Element count of `shape`, refusing more than `maxElements` elements.
    func checkedCount(_ shape: [Int], elementSize: Int, maxElements: Int, object name: String) throws -> Int {
        let limit = maxElements.multipliedReportingOverflow(by: elementSize)
        let limitBytes = limit.overflow ? Int.max : limit.partialValue
        guard let count = HDF5Array.elementCount(shape) else {
            throw HDF5Error.tooLarge(object: name, bytes: Int.max, limit: limitBytes)
        }
        guard count <= maxElements else {
            let bytes = count.multipliedReportingOverflow(by: elementSize)
            throw HDF5Error.tooLarge(object: name, bytes: bytes.overflow ? Int.max : bytes.partialValue, limit: limitBytes)
        }
        return count
    }

    /// Validates a dataset write before any conversion: writable file, valid new path, count.
    private func checkedWriteTarget(_ object: String, shape: [Int], valueCount: Int) throws -> String {
        _ = try requireWritable()
        guard let name = Self.normalize(object), name != "/" else {
            throw HDF5Error.writeFailed(path: path, reason: "'\(object)' is not a valid dataset path")
        }
        guard let count = HDF5Array.elementCount(shape) else {
            throw HDF5Error.writeFailed(path: path, reason: "\(name): invalid shape \(shape)")
        }
        guard count == valueCount else {
            throw HDF5Error.shapeMismatch(object: name, expected: shape, actual: [valueCount])
        }
        guard !exists(name) else {
            throw HDF5Error.writeFailed(path: path, reason: "\(name) already exists")
        }
        return name
    }

    /// Native-order bytes of `values` as `dtype`, refusing values the type cannot hold exactly.
    private func encode(_ values: [Double], as dtype: HDF5DType, object name: String) throws -> [UInt8] {
        func exact<T>(_ convert: (Double) -> T?) throws -> [UInt8] {
            var converted: [T] = []
            converted.reserveCapacity(values.count)
            for (index, value) in values.enumerated() {
                guard let element = convert(value) else {
                    throw HDF5Error.writeFailed(
                        path: path, reason: "\(name): value \(value) at index \(index) is not representable as \(dtype.rawValue)")
                }
                converted.append(element)
            }
            return converted.withUnsafeBytes { Array($0) }
        }
        switch dtype {
        case .float64: return values.withUnsafeBytes { Array($0) }
        case .float32: return values.map { Float($0) }.withUnsafeBytes { Array($0) }
        case .int64: return try exact { Int64(exactly: $0) }
        case .int32: return try exact { Int32(exactly: $0) }
        case .int16: return try exact { Int16(exactly: $0) }
        case .int8: return try exact { Int8(exactly: $0) }
        case .uint64: return try exact { UInt64(exactly: $0) }
        case .uint32: return try exact { UInt32(exactly: $0) }
        case .uint16: return try exact { UInt16(exactly: $0) }
        case .uint8: return try exact { UInt8(exactly: $0) }
        case .bool: return try exact { $0 == 0 ? UInt8(0) : ($0 == 1 ? UInt8(1) : nil) }
        }
    }

    /// Creates dataset `name` (missing parents included) and writes `raw` (native order) into it.
    /// On failure after creation the half-made dataset is unlinked again.
    private func writeRaw(_ name: String, shape: [Int], dtype: HDF5DType, raw: [UInt8]) throws {
        let space: hid_t
        if shape.isEmpty {
            space = H5Screate(H5S_SCALAR)
        } else {
            let dims = shape.map { hsize_t($0) }
            space = H5Screate_simple(Int32(dims.count), dims, nil)
        }
        guard space >= 0 else { throw writeFailure("making the dataspace of \(name)") }
        defer { H5Sclose(space) }
        guard let fileType = dtype.fileType(), let memoryType = dtype.memoryType() else {
            throw writeFailure("making the type of \(name)")
        }
        defer { fileType.close(); memoryType.close() }
        let lcpl = try makeLinkCreationList()
        defer { H5Pclose(lcpl) }

        // No modification time: the same contents give the same bytes whenever written.
        let dcpl = H5Pcreate(l2h_p_dataset_create())
        guard dcpl >= 0, H5Pset_obj_track_times(dcpl, false) >= 0 else {
            if dcpl >= 0 { H5Pclose(dcpl) }
            throw writeFailure("configuring dataset \(name)")
        }
        defer { H5Pclose(dcpl) }
        let dataset = H5Dcreate2(fileID, name, fileType.id, space, lcpl, dcpl, l2h_p_default())
        guard dataset >= 0 else { throw writeFailure("creating dataset \(name)") }
        var status: herr_t = 0
        if !raw.isEmpty {
            status = raw.withUnsafeBytes {
                H5Dwrite(dataset, memoryType.id, l2h_s_all(), l2h_s_all(), l2h_p_default(), $0.baseAddress)
            }
        }
        let failure = status < 0 ? writeFailure("writing \(name)") : nil
        H5Dclose(dataset)
        if let failure {
            H5Ldelete(fileID, name, l2h_p_default())
            H5Eclear2(l2h_e_default())
            throw failure
        }
    }
}

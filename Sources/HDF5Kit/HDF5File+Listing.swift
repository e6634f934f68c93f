import CHDF5

extension HDF5File {
    /// Every object in the file below the root (the root itself is not listed), recursively.
    ///
    /// Sorted by path component by component, so a group comes right before its members
    /// (`/a`, `/a/b`, `/a.b`). Objects reachable through several hard links are listed once, under
    /// their first path in name order; soft and external links are not followed. Datasets carry
    /// shape and element type (dtype nil, with a `typeDescription`, when the type is unsupported).
    public func listObjects() throws -> [HDF5Object] {
        let id = try requireOpen()
        let found = VisitedObjects()
        let status = l2h_visit(id, { name, kind, context in
            guard let name, let context else { return -1 }
            let found = Unmanaged<VisitedObjects>.fromOpaque(context).takeUnretainedValue()
            found.entries.append((String(cString: name), kind))
            return 0
        }, Unmanaged.passUnretained(found).toOpaque())
        guard status >= 0 else { throw corruption("listing objects") }

        var objects: [HDF5Object] = []
        for (relative, kind) in found.entries where relative != "." {
            let name = "/" + relative
            switch Int(kind) {
            case Int(L2H_OBJ_GROUP): objects.append(HDF5Object(path: name, kind: .group))
            case Int(L2H_OBJ_DATASET): objects.append(try describe(name, kind: .dataset))
            case Int(L2H_OBJ_DATATYPE): objects.append(HDF5Object(path: name, kind: .namedDatatype))
            default: throw HDF5Error.corrupt(path: path, reason: "\(name) is an object of unknown kind")
            }
        }
        return objects.sorted { lhs, rhs in
            lhs.path.split(separator: "/").lexicographicallyPrecedes(rhs.path.split(separator: "/"))
        }
    }

    /// An ``HDF5Object`` for the existing object `name` of kind `kind`.
    func describe(_ name: String, kind: HDF5Object.Kind) throws -> HDF5Object {
        guard kind == .dataset else { return HDF5Object(path: name, kind: kind) }
        return try withDataset(name) { _, type, space in
            let shape = try shapeOf(space: space, object: name)
            switch HDF5DType.classify(type) {
            case let .success(dtype):
                return HDF5Object(path: name, kind: .dataset, shape: shape, dtype: dtype, typeDescription: dtype.rawValue)
            case let .failure(refusal):
                return HDF5Object(path: name, kind: .dataset, shape: shape, dtype: nil, typeDescription: refusal.description)
            }
        }
    }

    /// Opens dataset `name` with its datatype and dataspace for the duration of `body`
    /// (dataset, type, space), closing all three afterwards.
    func withDataset<T>(_ name: String, _ body: (hid_t, hid_t, hid_t) throws -> T) throws -> T {
        let dataset = H5Dopen2(fileID, name, l2h_p_default())
        guard dataset >= 0 else { throw corruption("opening dataset \(name)") }
        defer { H5Dclose(dataset) }
        let type = H5Dget_type(dataset)
        guard type >= 0 else { throw corruption("reading the type of \(name)") }
        defer { H5Tclose(type) }
        let space = H5Dget_space(dataset)
        guard space >= 0 else { throw corruption("reading the shape of \(name)") }
        defer { H5Sclose(space) }
        return try body(dataset, type, space)
    }

    /// Shape of a dataspace: `[]` for a scalar, the dimensions for a simple dataspace, and `[0]`
    /// for a null dataspace (h5py's `Empty`: no elements).
    func shapeOf(space: hid_t, object name: String) throws -> [Int] {
        switch H5Sget_simple_extent_type(space) {
        case H5S_SCALAR:
            return []
        case H5S_NULL:
            return [0]
        case H5S_SIMPLE:
            let rank = H5Sget_simple_extent_ndims(space)
            guard rank >= 0 else { throw corruption("reading the rank of \(name)") }
            var dims = [hsize_t](repeating: 0, count: Int(rank))
            guard H5Sget_simple_extent_dims(space, &dims, nil) >= 0 else {
                throw corruption("reading the dimensions of \(name)")
            }
            return try dims.map { dim in
                guard dim <= hsize_t(Int.max) else {
                    throw HDF5Error.corrupt(path: path, reason: "\(name) has a dimension of \(dim)")
                }
                return Int(dim)
            }
        default:
            throw HDF5Error.corrupt(path: path, reason: "\(name) has an invalid dataspace")
        }
    }
}

/// Collects what `l2h_visit` reports.
final class VisitedObjects {
    var entries: [(String, Int32)] = []
}

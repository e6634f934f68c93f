import CHDF5
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension HDF5File {
    /// Names of the attributes of `object` (`/` for the root), sorted. Throws `notFound`.
    public func attributeNames(_ object: String) throws -> [String] {
        let name = try resolve(object)
        let found = AttributeNames()
        let status = H5Aiterate_by_name(fileID, name, H5_INDEX_NAME, H5_ITER_INC, nil, { _, attribute, _, context in
            guard let attribute, let context else { return -1 }
            Unmanaged<AttributeNames>.fromOpaque(context).takeUnretainedValue().names.append(String(cString: attribute))
            return 0
        }, Unmanaged.passUnretained(found).toOpaque(), l2h_p_default())
        guard status >= 0 else { throw corruption("listing the attributes of \(name)") }
        return found.names.sorted()
    }

    /// Reads attribute `attribute` of `object` (`/` for the root); see ``HDF5Attribute`` for the
    /// mapping. Throws `notFound` (object or attribute, the latter named `<object>@<attribute>`),
    /// `unsupportedDType` (compound, references, rank >= 2, strings that are not UTF-8, uint64
    /// values above Int64.max, ...), `tooLarge` beyond `maxElements` elements, `corrupt`.
    public func readAttribute(_ object: String, _ attribute: String,
                              maxElements: Int = HDF5File.defaultMaxElements) throws -> HDF5Attribute {
        let name = try resolve(object)
        let label = "\(name)@\(attribute)"
        guard !attribute.isEmpty else { throw HDF5Error.notFound(path: path, object: label) }
        let present = H5Aexists_by_name(fileID, name, attribute, l2h_p_default())
        guard present >= 0 else { throw corruption("looking up \(label)") }
        guard present > 0 else { throw HDF5Error.notFound(path: path, object: label) }
        let handle = H5Aopen_by_name(fileID, name, attribute, l2h_p_default(), l2h_p_default())
        guard handle >= 0 else { throw corruption("opening \(label)") }
        defer { H5Aclose(handle) }
        let type = H5Aget_type(handle)
        guard type >= 0 else { throw corruption("reading the type of \(label)") }
        defer { H5Tclose(type) }
        let space = H5Aget_space(handle)
        guard space >= 0 else { throw corruption("reading the shape of \(label)") }
        defer { H5Sclose(space) }

        let shape = try shapeOf(space: space, object: label)
        guard shape.count <= 1 else {
            throw HDF5Error.unsupportedDType(object: label, description: "attribute of rank \(shape.count), shape \(shape)")
        }
        let scalar = shape.isEmpty
        let size = max(H5Tget_size(type), 1)
        let count = try checkedCount(shape, elementSize: size, maxElements: maxElements, object: label)

        switch H5Tget_class(type) {
        case H5T_STRING:
            let values = try readStrings(handle, type: type, count: count, label: label)
            return scalar ? .string(values[0]) : .strings(values)
        case H5T_FLOAT where [2, 4, 8].contains(H5Tget_size(type)):
            let values: [Double] = try readNumbers(handle, memoryType: l2h_native_double(), count: count, label: label)
            return scalar ? .double(values[0]) : .doubles(values)
        case H5T_INTEGER where H5Tget_size(type) == 8 && H5Tget_sign(type) == H5T_SGN_NONE:
            let unsigned: [UInt64] = try readNumbers(handle, memoryType: l2h_native_uint64(), count: count, label: label)
            let values = try unsigned.map { value -> Int64 in
                guard let exact = Int64(exactly: value) else {
                    throw HDF5Error.unsupportedDType(object: label, description: "uint64 value \(value) above Int64.max")
                }
                return exact
            }
            return scalar ? .int(values[0]) : .ints(values)
        case H5T_INTEGER where H5Tget_size(type) <= 8:
            let values: [Int64] = try readNumbers(handle, memoryType: l2h_native_int64(), count: count, label: label)
            return scalar ? .int(values[0]) : .ints(values)
        case H5T_ENUM where (try? HDF5DType.classify(type).get()) == .bool:
            guard let memory = HDF5DType.bool.memoryType() else { throw corruption("making the type of \(label)") }
            defer { memory.close() }
            let bytes: [UInt8] = try readNumbers(handle, memoryType: memory.id, count: count, label: label)
            let values = bytes.map { Int64($0) }
            return scalar ? .int(values[0]) : .ints(values)
        default:
            throw HDF5Error.unsupportedDType(object: label, description: HDF5DType.describe(type))
        }
    }

    /// Writes (or replaces) attribute `attribute` of `object` (`/` for the root). Strings are
    /// variable-length UTF-8 and may not contain NUL characters (`writeFailed`).
    public func writeAttribute(_ object: String, _ attribute: String, _ value: HDF5Attribute) throws {
        _ = try requireWritable()
        let name = try resolve(object)
        let label = "\(name)@\(attribute)"
        guard !attribute.isEmpty else { throw HDF5Error.writeFailed(path: path, reason: "\(label): empty attribute name") }

        let present = H5Aexists_by_name(fileID, name, attribute, l2h_p_default())
        guard present >= 0 else { throw writeFailure("looking up \(label)") }
        if present > 0, H5Adelete_by_name(fileID, name, attribute, l2h_p_default()) < 0 {
            throw writeFailure("replacing \(label)")
        }
        switch value {
        case let .string(text): try writeStrings([text], scalar: true, name: name, attribute: attribute)
        case let .strings(texts): try writeStrings(texts, scalar: false, name: name, attribute: attribute)
        case let .double(number):
            try writeNumbers([number], scalar: true, fileType: l2h_ieee_f64le(), memoryType: l2h_native_double(), name: name, attribute: attribute)
        case let .doubles(numbers):
            try writeNumbers(numbers, scalar: false, fileType: l2h_ieee_f64le(), memoryType: l2h_native_double(), name: name, attribute: attribute)
        case let .int(number):
            try writeNumbers([number], scalar: true, fileType: l2h_std_i64le(), memoryType: l2h_native_int64(), name: name, attribute: attribute)
        case let .ints(numbers):
            try writeNumbers(numbers, scalar: false, fileType: l2h_std_i64le(), memoryType: l2h_native_int64(), name: name, attribute: attribute)
        }
    }

    // MARK: Reading internals

    private func readNumbers<T: Numeric>(_ handle: hid_t, memoryType: hid_t, count: Int, label: String) throws -> [T] {
        var values = [T](repeating: 0, count: count)
        guard count > 0 else { return values }
        let status = values.withUnsafeMutableBytes { H5Aread(handle, memoryType, $0.baseAddress) }
        guard status >= 0 else { throw corruption("reading \(label)") }
        return values
    }

    /// Reads `count` strings, variable- or fixed-length.
    private func readStrings(_ handle: hid_t, type: hid_t, count: Int, label: String) throws -> [String] {
        let memory = H5Tcopy(type)
        guard memory >= 0 else { throw corruption("copying the type of \(label)") }
        defer { H5Tclose(memory) }
        var texts: [[UInt8]] = []

        if H5Tis_variable_str(type) > 0 {
            var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
            if count > 0 {
                let status = pointers.withUnsafeMutableBytes { H5Aread(handle, memory, $0.baseAddress) }
                guard status >= 0 else { throw corruption("reading \(label)") }
            }
            defer { for pointer in pointers where pointer != nil { H5free_memory(pointer) } }
            texts = pointers.map { pointer in
                guard let pointer else { return [] }
                return Array(UnsafeBufferPointer(start: UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self),
                                                 count: strlen(pointer)))
            }
        } else {
            let width = H5Tget_size(type)
            let total = count.multipliedReportingOverflow(by: width)
            guard !total.overflow, total.partialValue <= Int(Int32.max) else {
                throw HDF5Error.tooLarge(object: label, bytes: total.overflow ? Int.max : total.partialValue, limit: Int(Int32.max))
            }
            var bytes = [UInt8](repeating: 0, count: total.partialValue)
            if count > 0, width > 0 {
                let status = bytes.withUnsafeMutableBytes { H5Aread(handle, memory, $0.baseAddress) }
                guard status >= 0 else { throw corruption("reading \(label)") }
            }
            let spacePadded = H5Tget_strpad(type) == H5T_STR_SPACEPAD
            for index in 0 ..< count {
                var element = bytes[(index * width) ..< ((index + 1) * width)]
                if let end = element.firstIndex(of: 0) { element = element[..<end] }
                if spacePadded { while element.last == 0x20 { element = element.dropLast() } }
                texts.append(Array(element))
            }
        }
        return try texts.enumerated().map { index, bytes in
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw HDF5Error.unsupportedDType(object: label, description: "string \(index) is not valid UTF-8")
            }
            return text
        }
    }

    // MARK: Writing internals

    private func writeNumbers<T>(_ values: [T], scalar: Bool, fileType: hid_t, memoryType: hid_t,
                                 name: String, attribute: String) throws {
        try withNewAttribute(name: name, attribute: attribute, type: fileType, count: values.count, scalar: scalar) { handle in
            values.withUnsafeBytes { H5Awrite(handle, memoryType, $0.baseAddress) }
        }
    }

    private func writeStrings(_ values: [String], scalar: Bool, name: String, attribute: String) throws {
        let label = "\(name)@\(attribute)"
        if let index = values.firstIndex(where: { $0.utf8.contains(0) }) {
            throw HDF5Error.writeFailed(path: path, reason: "\(label): string \(index) contains a NUL character")
        }
        let type = H5Tcopy(l2h_c_s1())
        guard type >= 0 else { throw writeFailure("making a string type for \(label)") }
        defer { H5Tclose(type) }
        guard H5Tset_size(type, l2h_t_variable()) >= 0, H5Tset_cset(type, H5T_CSET_UTF8) >= 0 else {
            throw writeFailure("making a string type for \(label)")
        }
        let copies: [UnsafeMutablePointer<CChar>?] = values.map { strdup($0) }
        defer { for copy in copies { free(copy) } }
        guard !copies.contains(where: { $0 == nil }) else {
            throw HDF5Error.writeFailed(path: path, reason: "\(label): out of memory")
        }
        try withNewAttribute(name: name, attribute: attribute, type: type, count: values.count, scalar: scalar) { handle in
            copies.withUnsafeBytes { H5Awrite(handle, type, $0.baseAddress) }
        }
    }

    /// Creates the attribute with a scalar or 1-D dataspace and runs `write` on it (skipped when
    /// there is nothing to write); removes the attribute again when writing fails.
    private func withNewAttribute(name: String, attribute: String, type: hid_t, count: Int, scalar: Bool,
                                  write: (hid_t) -> herr_t) throws {
        let label = "\(name)@\(attribute)"
        var dims = [hsize_t(count)]
        let space = scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &dims, nil)
        guard space >= 0 else { throw writeFailure("making the dataspace of \(label)") }
        defer { H5Sclose(space) }
        let handle = H5Acreate_by_name(fileID, name, attribute, type, space, l2h_p_default(), l2h_p_default(), l2h_p_default())
        guard handle >= 0 else { throw writeFailure("creating \(label)") }
        let status = count > 0 ? write(handle) : 0
        let failure = status < 0 ? writeFailure("writing \(label)") : nil
        H5Aclose(handle)
        if let failure {
            H5Adelete_by_name(fileID, name, attribute, l2h_p_default())
            H5Eclear2(l2h_e_default())
            throw failure
        }
    }
}

/// Collects what `H5Aiterate_by_name` reports.
private final class AttributeNames {
    var names: [String] = []
}

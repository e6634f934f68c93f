import CHDF5

/// Element types HDF5Kit reads and writes.
///
/// Reading maps the file's type class and size onto one of these (byte order is converted to the
/// machine's). Writing stores the little-endian standard type of the same class and size.
/// `bool` is stored the way h5py stores numpy booleans: an enum over int8 with members
/// `FALSE = 0` and `TRUE = 1`; only that exact enum is read back as `bool`.
public enum HDF5DType: String, CaseIterable, Equatable, Hashable, Sendable {
    case float64, float32
    case int64, int32, int16, int8
    case uint64, uint32, uint16, uint8
    case bool

    /// Bytes per element in memory and in files written by HDF5Kit.
    public var byteSize: Int {
        switch self {
        case .float64, .int64, .uint64: return 8
        case .float32, .int32, .uint32: return 4
        case .int16, .uint16: return 2
        case .int8, .uint8, .bool: return 1
        }
    }

    /// True for the two floating-point types.
    public var isFloatingPoint: Bool { self == .float64 || self == .float32 }
}

// MARK: - Mapping to HDF5 types (internal)

/// An HDF5 type id with whether this code must close it (predefined types must not be closed).
struct TypeHandle {
    let id: hid_t
    let owned: Bool
    func close() { if owned { H5Tclose(id) } }
}

extension HDF5DType {
    /// The machine's native type, used as the memory type of reads and writes.
    func memoryType() -> TypeHandle? {
        switch self {
        case .float64: return TypeHandle(id: l2h_native_double(), owned: false)
        case .float32: return TypeHandle(id: l2h_native_float(), owned: false)
        case .int64: return TypeHandle(id: l2h_native_int64(), owned: false)
        case .int32: return TypeHandle(id: l2h_native_int32(), owned: false)
        case .int16: return TypeHandle(id: l2h_native_int16(), owned: false)
        case .int8: return TypeHandle(id: l2h_native_int8(), owned: false)
        case .uint64: return TypeHandle(id: l2h_native_uint64(), owned: false)
        case .uint32: return TypeHandle(id: l2h_native_uint32(), owned: false)
        case .uint16: return TypeHandle(id: l2h_native_uint16(), owned: false)
        case .uint8: return TypeHandle(id: l2h_native_uint8(), owned: false)
        case .bool: return Self.makeBoolEnum()
        }
    }

    /// The little-endian standard type written to files.
    func fileType() -> TypeHandle? {
        switch self {
        case .float64: return TypeHandle(id: l2h_ieee_f64le(), owned: false)
        case .float32: return TypeHandle(id: l2h_ieee_f32le(), owned: false)
        case .int64: return TypeHandle(id: l2h_std_i64le(), owned: false)
        case .int32: return TypeHandle(id: l2h_std_i32le(), owned: false)
        case .int16: return TypeHandle(id: l2h_std_i16le(), owned: false)
        case .int8: return TypeHandle(id: l2h_std_i8le(), owned: false)
        case .uint64: return TypeHandle(id: l2h_std_u64le(), owned: false)
        case .uint32: return TypeHandle(id: l2h_std_u32le(), owned: false)
        case .uint16: return TypeHandle(id: l2h_std_u16le(), owned: false)
        case .uint8: return TypeHandle(id: l2h_std_u8le(), owned: false)
        case .bool: return Self.makeBoolEnum()
        }
    }

    /// h5py's boolean: enum { FALSE = 0, TRUE = 1 } over int8 (one byte, so no byte order).
    private static func makeBoolEnum() -> TypeHandle? {
        let id = H5Tenum_create(l2h_native_int8())
        guard id >= 0 else { return nil }
        var no: Int8 = 0, yes: Int8 = 1
        guard H5Tenum_insert(id, "FALSE", &no) >= 0, H5Tenum_insert(id, "TRUE", &yes) >= 0 else {
            H5Tclose(id)
            return nil
        }
        return TypeHandle(id: id, owned: true)
    }

    /// Classifies a file type: the dtype it is read as, or a description of why it is refused.
    static func classify(_ type: hid_t) -> Result<HDF5DType, TypeRefusal> {
        let size = H5Tget_size(type)
        switch H5Tget_class(type) {
        case H5T_FLOAT:
            switch size {
            case 8: return .success(.float64)
            case 4: return .success(.float32)
            default: return .failure(TypeRefusal("\(size * 8)-bit float"))
            }
        case H5T_INTEGER:
            let signed = H5Tget_sign(type) != H5T_SGN_NONE
            switch (size, signed) {
            case (8, true): return .success(.int64)
            case (4, true): return .success(.int32)
            case (2, true): return .success(.int16)
            case (1, true): return .success(.int8)
            case (8, false): return .success(.uint64)
            case (4, false): return .success(.uint32)
            case (2, false): return .success(.uint16)
            case (1, false): return .success(.uint8)
            default: return .failure(TypeRefusal("\(size * 8)-bit integer"))
            }
        case H5T_ENUM:
            return isBoolEnum(type) ? .success(.bool) : .failure(TypeRefusal("enum"))
        default:
            return .failure(TypeRefusal(describe(type)))
        }
    }

    /// True for h5py's boolean enum: two members, FALSE = 0 and TRUE = 1, one byte wide.
    private static func isBoolEnum(_ type: hid_t) -> Bool {
        guard H5Tget_size(type) == 1, H5Tget_nmembers(type) == 2 else { return false }
        var names: [String: Int8] = [:]
        for index in 0 ..< 2 {
            guard let cName = H5Tget_member_name(type, UInt32(index)) else { return false }
            let name = String(cString: cName)
            H5free_memory(cName)
            var value: Int8 = -1
            guard H5Tget_member_value(type, UInt32(index), &value) >= 0 else { return false }
            names[name] = value
        }
        return names == ["FALSE": 0, "TRUE": 1]
    }

    /// A short human description of any HDF5 type, for error messages and listings.
    static func describe(_ type: hid_t) -> String {
        let size = H5Tget_size(type)
        switch H5Tget_class(type) {
        case H5T_STRING:
            return H5Tis_variable_str(type) > 0 ? "variable-length string" : "fixed-length string (\(size) bytes)"
        case H5T_COMPOUND: return "compound (\(size) bytes)"
        case H5T_ARRAY: return "array type"
        case H5T_VLEN: return "variable-length sequence"
        case H5T_REFERENCE: return "reference"
        case H5T_OPAQUE: return "opaque (\(size) bytes)"
        case H5T_BITFIELD: return "bitfield (\(size) bytes)"
        case H5T_TIME: return "time"
        case H5T_ENUM: return "enum"
        case H5T_FLOAT: return "\(size * 8)-bit float"
        case H5T_INTEGER: return "\(size * 8)-bit integer"
        default: return "unknown type class"
        }
    }
}

/// Why a file type is refused, in words.
struct TypeRefusal: Error {
    let description: String
    init(_ description: String) { self.description = description }
}

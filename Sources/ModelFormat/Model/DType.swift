/// Element types a `.l2z` array may have. All are little-endian (or single-byte) in the file.
public enum DType: String, CaseIterable, Sendable, Codable {
    case float64, float32, int64, int32, uint8, bool

    /// The numpy `descr` string written in the `.npy` header.
    public var npyDescr: String {
        switch self {
        case .float64: return "<f8"
        case .float32: return "<f4"
        case .int64: return "<i8"
        case .int32: return "<i4"
        case .uint8: return "|u1"
        case .bool: return "|b1"
        }
    }

    public var itemSize: Int {
        switch self {
        case .float64, .int64: return 8
        case .float32, .int32: return 4
        case .uint8, .bool: return 1
        }
    }

    public var isFloatingPoint: Bool { self == .float64 || self == .float32 }

    /// Parses a numpy descr. Only the exact little-endian spellings are accepted; `=`/`>` byte
    /// orders, structured, string and object dtypes return nil.
    public init?(npyDescr: String) {
        guard let match = DType.allCases.first(where: { $0.npyDescr == npyDescr }) else { return nil }
        self = match
    }
}

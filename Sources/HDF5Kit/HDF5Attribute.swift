/// The value of an HDF5 attribute, as HDF5Kit reads and writes it.
///
/// Reading: a scalar dataspace gives the singular case, a 1-D dataspace the plural case (also for
/// one element and for zero elements). Strings come variable- or fixed-length, ASCII or UTF-8;
/// fixed-length strings end at their first NUL (and lose trailing spaces when the type is
/// space-padded), which is how Keras' `layer_names` / `weight_names` (numpy `S` arrays, NUL-padded)
/// read back. Strings must be valid UTF-8. 16-, 32- and 64-bit floating-point attributes read as
/// `double(s)` (exactly), integers of up to 64 bits and h5py booleans as `int(s)`. Keras stores an empty name list as an empty float64 array, which reads as
/// `.doubles([])`: use ``stringList`` to accept it as `[]`.
///
/// Writing: strings are written as variable-length UTF-8 (as h5py writes `str`), doubles as
/// little-endian float64, ints as little-endian int64; plural cases as 1-D arrays.
public enum HDF5Attribute: Equatable, Sendable {
    case string(String)
    case strings([String])
    case double(Double)
    case doubles([Double])
    case int(Int64)
    case ints([Int64])

    /// The value as a list of names: `.string(s)` is `[s]`, `.strings(a)` is `a`, and an empty
    /// numeric array (Keras' empty `weight_names`) is `[]`. Nil for anything else.
    public var stringList: [String]? {
        switch self {
        case let .string(value): return [value]
        case let .strings(values): return values
        case let .doubles(values) where values.isEmpty: return []
        case let .ints(values) where values.isEmpty: return []
        default: return nil
        }
    }
}

/// One object of an HDF5 file, as listed by ``HDF5File/listObjects()``.
public struct HDF5Object: Equatable, Sendable {
    public enum Kind: String, Equatable, Sendable {
        case group
        case dataset
        /// A committed (named) datatype; neither h5py nor Keras write these by default.
        case namedDatatype
    }

    /// Absolute path inside the file, e.g. `/dense/dense/kernel:0`.
    public let path: String
    public let kind: Kind
    /// Dataset shape (`[]` for a scalar); nil for groups and named datatypes.
    public let shape: [Int]?
    /// Dataset element type; nil for groups, named datatypes and datasets of unsupported types.
    public let dtype: HDF5DType?
    /// The dataset's element type in words (`float32`, `fixed-length string (7 bytes)`); nil otherwise.
    public let typeDescription: String?

    public init(path: String, kind: Kind, shape: [Int]? = nil, dtype: HDF5DType? = nil, typeDescription: String? = nil) {
        self.path = path
        self.kind = kind
        self.shape = shape
        self.dtype = dtype
        self.typeDescription = typeDescription
    }
}

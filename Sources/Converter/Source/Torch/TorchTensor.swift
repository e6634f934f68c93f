import Foundation

/// One tensor of a PyTorch checkpoint, rebuilt from its storage.
///
/// `values` holds the tensor's elements in contiguous row-major order, gathered through
/// `stride` from `storageOffset` (element `[i0, i1, ...]` is storage element
/// `storageOffset + sum(i_k * stride_k)`), each converted exactly to Double; nil for integer
/// and bool dtypes (listed, not converted).
public struct TorchTensor: Sendable, Equatable {
    /// Dotted path of dict keys (`model_state_dict.fc.weight`).
    public var path: String
    public var dtype: TorchDType
    public var shape: [Int]
    public var stride: [Int]
    public var storageOffset: Int
    /// The `data/<key>` record.
    public var storageKey: String
    /// True when saved as an `nn.Parameter` (`_rebuild_parameter`).
    public var isParameter: Bool
    public var values: [Double]?
}

/// A value of a checkpoint that is not a tensor nor a dict of them: listed, never interpreted.
public struct TorchSkipped: Sendable, Equatable {
    public var path: String
    /// What it is (`int`, `list`, `dict with a non-string key`, `call of collections.OrderedDict`, ...).
    public var kind: String
}

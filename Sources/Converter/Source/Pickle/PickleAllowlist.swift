import Foundation

/// The globals (`module.name`) a ``PickleReader`` accepts in GLOBAL and STACK_GLOBAL; every other
/// global is refused by name (`convert.pickle_global`). Accepting a global only lets it appear in
/// the tree as a ``PickleValue/global(module:name:)`` node: it is never imported or called.
public enum PickleAllowlist {
    /// What a PyTorch (>= 1.6 zip format, 2.x) `state_dict()` pickles: the `OrderedDict` itself,
    /// `torch._utils._rebuild_tensor_v2` for every tensor (its persistent id names the storage
    /// type, e.g. `torch.FloatStorage`), `torch._utils._rebuild_parameter` when a whole module or
    /// `nn.Parameter` is saved, and the typed storage classes PyTorch 2 still names in persistent
    /// ids (`obj._pickle_storage_type()`).
    public static let stateDict: Set<String> = [
        "collections.OrderedDict",
        "torch._utils._rebuild_tensor_v2",
        "torch._utils._rebuild_parameter",
        "torch.FloatStorage", "torch.DoubleStorage", "torch.HalfStorage", "torch.BFloat16Storage",
        "torch.LongStorage", "torch.IntStorage", "torch.ShortStorage", "torch.CharStorage",
        "torch.ByteStorage", "torch.BoolStorage",
    ]
}

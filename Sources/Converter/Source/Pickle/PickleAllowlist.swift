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

    /// The reconstructors numpy's pickles name for scalars and arrays (numpy 2 under `numpy._core`,
    /// numpy 1.x under `numpy.core`): `multiarray.scalar(dtype, bytes)`, `dtype(code, align, copy)`
    /// with BUILD state, `multiarray._reconstruct(ndarray, (0,), b'b')` with BUILD state, `ndarray`.
    /// They stay inert nodes: ``TorchCheckpoint`` decodes a few scalar shapes as pure data and
    /// lists arrays as skipped (docs/CONVERT.md "PyTorch zip checkpoints").
    public static let numpy: Set<String> = [
        "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar",
        "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct",
        "numpy.dtype", "numpy.ndarray",
    ]

    /// How pickle protocol 2 (torch.save's default) spells a `bytes` object: `_codecs.encode(str,
    /// 'latin1')`, and `__builtin__.bytes()` for an empty one (numpy payloads). Inert like the rest;
    /// ``TorchCheckpoint`` recognizes the exact shape `_codecs.encode(<str>, 'latin1')` as bytes.
    public static let protocol2Bytes: Set<String> = ["_codecs.encode", "__builtin__.bytes"]

    /// What ``TorchCheckpoint`` reads with: ``stateDict``, ``numpy``, ``protocol2Bytes`` and
    /// `torch._utils._rebuild_parameter_with_state` (an `nn.Parameter` carrying Python attributes,
    /// as torch.save writes it since PyTorch 2.0; the attributes are not interpreted).
    public static let checkpoint: Set<String> = stateDict.union(numpy).union(protocol2Bytes)
        .union(["torch._utils._rebuild_parameter_with_state"])
}

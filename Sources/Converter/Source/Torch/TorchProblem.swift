import Foundation

/// What is wrong with a PyTorch checkpoint (``TorchCheckpoint``); the error code is
/// `convert.torch_<rawValue>` (docs/CONVERT.md "PyTorch zip checkpoints").
public enum TorchProblem: String, Sendable {
    /// The legacy (non-zip) `torch.save` format: a pickle starting with PyTorch's magic number.
    case legacyFormat = "legacy_format"
    /// A TorchScript archive (`torch.jit.save`: `constants.pkl`, `code/`), not a `torch.save` file.
    case torchscript
    /// No single top-level `<name>/data.pkl`, or a `version` record that is not a small integer.
    case layout
    /// `byteorder` says something other than `little`.
    case byteorder
    /// The pickle's tree is not what `torch.save` writes for a tensor (arguments, persistent id).
    case structure
    /// A storage class outside the known typed storages, or one key used with two dtypes.
    case dtype
    /// A persistent id names a `data/<key>` record the archive does not hold.
    case storageMissing = "storage_missing"
    /// A storage record whose byte length is not numel x element size.
    case storageSize = "storage_size"
    /// A negative size or stride, an overflow, or an element addressed outside its storage.
    case bounds
}

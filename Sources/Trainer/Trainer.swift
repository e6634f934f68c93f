import ModelFormat

/// The lean L2HMC trainer (issue #4 fills this target): its own forward pass and gradients,
/// HDF5 checkpoints and `.l2z` export. It depends on ModelFormat, OpenBLAS and HDF5, never on
/// Inference.
public enum Trainer {
    public static let version = "0.1.0"
}

import ModelFormat

/// The plain-array L2HMC runtime: targets, dynamics, samplers, observables and statistics
/// (docs/RUNTIME.md). It depends on ModelFormat, OpenBLAS and its SIMD kernels, never on Trainer.
public enum Inference {
    /// Version of the runtime, recorded in run outputs.
    public static let version = "0.1.0"
}

import ModelFormat

/// The plain-array L2HMC runtime (issue #3 fills this target: targets, dynamics, samplers,
/// observables). It depends on ModelFormat and OpenBLAS and never on Trainer.
public enum Inference {
    /// Version of the runtime, recorded in run outputs.
    public static let version = "0.1.0"
}

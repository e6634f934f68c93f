import ModelFormat

/// The trainer's own target energy, exposed for audits (the golden path comparison computes the
/// trainer side's acceptance from it): computed by the trainer's code, never the runtime's.
public enum TrainerEnergy {
    /// U(x) of one configuration (`x` has the model's n variables) at coupling `scale` (beta for
    /// U(1), 1/T for mixtures), as the trainer's training target evaluates it.
    public static func energy(_ model: TrainerModel, x: [Double], scale: Double) -> Double {
        makeTrainingTarget(model.spec.target).energy(Matrix(rows: 1, cols: x.count, data: x), scale: scale)[0]
    }
}

import ModelFormat

extension TrainerModel {
    /// The model's target with its physics (built from the spec by ``makeTrainingTarget(_:)``,
    /// the one place that maps a target description to a trainer target).
    var target: TrainingTarget { makeTrainingTarget(spec.target) }
}

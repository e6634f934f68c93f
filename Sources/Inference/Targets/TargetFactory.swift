import ModelFormat

/// The target action a model describes.
public func makeTarget(_ target: Target) -> TargetAction {
    switch target {
    case let .u1(lattice): return U1Action(lattice: lattice)
    case let .gaussianMixture(mixture): return MixtureAction(mixture: mixture)
    }
}

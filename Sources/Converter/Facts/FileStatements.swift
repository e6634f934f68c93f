import ModelFormat

/// Facts a source states about itself: a run's hydra `config.yaml` (``HydraConfig``), the
/// `__metadata__` of a safetensors file written by `l2hmc-convert export`, the step sizes a
/// PyTorch state dict stores. They are never shadowed by a preset:
///
/// - ``apply(to:)``: a stated fact is taken where no preset, sidecar or flag gives it; a given
///   fact (preset, sidecar or flag) that differs is `convert.conflicting_fact`, naming both values
///   and where each comes from. Step sizes agree when they are equal after rounding both to
///   float32 (files store float32 parameters; a flag is typed in decimal).
/// - Two statements of the same fact by two parts of the file that disagree are refused by
///   ``state(_:_:)`` the same way.
struct FileStatements {
    private(set) var facts = Facts()
    /// Whether the file has batch-norm layers, as stated (checked against the weights).
    var batchNorm: (value: Bool, origin: String)?
    /// The run's `conv` config (empty filters: no convolution stack), checked against the weights.
    var convStack: TorchConvStack.Config?

    /// Records a statement; a second, different statement of the same fact is a conflict.
    mutating func state(_ key: FactKey, _ text: String, origin: String) throws {
        var single = Facts()
        try single.set(key, text: text, origin: origin)
        facts = facts.overlaid(with: try FileStatements.checked(stated: single, given: facts))
    }

    mutating func stateMasks(_ rows: [[UInt8]], origin: String) {
        facts.masks = Sourced(.rows(rows), origin)
    }

    /// The given facts with these statements applied (see the type's contract).
    func apply(to given: Facts) throws -> Facts {
        given.overlaid(with: try FileStatements.checked(stated: facts, given: given))
    }

    /// Compares every stated fact with the given one; returns the stated facts (unchanged) when
    /// none conflicts.
    private static func checked(stated: Facts, given: Facts) throws -> Facts {
        func check<T>(_ kp: KeyPath<Facts, Sourced<T>?>, _ key: FactKey, same: (T, T) -> Bool = { $0 == $1 }, show: (T) -> String) throws {
            guard let s = stated[keyPath: kp], let g = given[keyPath: kp], !same(s.value, g.value) else { return }
            throw ConvertError.conflictingFact(fact: key.rawValue, reason: "\(s.origin) states \(show(s.value)), but \(g.origin) gives \(show(g.value))")
        }
        func raw<E: RawRepresentable>(_ e: E) -> String where E.RawValue == String { e.rawValue }
        let eps: ([Double], [Double]) -> Bool = { a, b in
            let n = max(a.count, b.count)
            guard a.count == b.count || a.count == 1 || b.count == 1 else { return false }
            return (0..<n).allSatisfy { Float(a[a.count == 1 ? 0 : $0]) == Float(b[b.count == 1 ? 0 : $0]) }
        }
        let list: ([Double]) -> String = { $0.map { "\($0)" }.joined(separator: ",") }
        try check(\.lattice, .lattice, show: { "\($0[0])x\($0[1])" })
        try check(\.beta, .beta, show: { "\($0)" })
        try check(\.linkLayout, .linkLayout, show: raw)
        try check(\.nLF, .nLF, show: { "\($0)" })
        try check(\.epsX, .epsX, same: eps, show: list)
        try check(\.epsV, .epsV, same: eps, show: list)
        try check(\.epsXParametrization, .epsXParametrization, show: raw)
        try check(\.epsVParametrization, .epsVParametrization, show: raw)
        try check(\.masks, .masks, show: { m in
            switch m {
            case let .rule(r): return "rule \(r.rawValue)"
            case let .file(p): return p
            case let .rows(r): return "\(r.count) rows"
            }
        })
        try check(\.translationSign, .translationSign, show: { $0 == .plus ? "+1" : "-1" })
        try check(\.xUpdate, .xUpdate, show: raw)
        try check(\.xNetInput, .xNetInput, show: raw)
        try check(\.vNetInput, .vNetInput, show: raw)
        try check(\.maskPlacement, .maskPlacement, show: raw)
        try check(\.timeInput, .timeInput, show: { "\($0)" })
        try check(\.activation, .activation, show: raw)
        try check(\.batchNormEpsilon, .batchNormEpsilon, show: { "\($0)" })
        try check(\.netWeights, .netWeights, show: { $0.values.map { "\($0)" }.joined(separator: ",") })
        try check(\.layout, .layout, show: raw)
        try check(\.xNetworksPerStep, .xNetworksPerStep, show: { "\($0)" })
        try check(\.hiddenUnits, .hiddenUnits, show: { $0.map(String.init).joined(separator: ",") })
        try check(\.maskMeaning, .maskMeaning, show: raw)
        try check(\.headCoefficient, .headCoefficient, show: raw)
        try check(\.angleConvention, .angleConvention, show: raw)
        try check(\.nMix, .nMix, show: { "\($0)" })
        try check(\.kernelSize, .kernelSize, show: { "\($0)" })
        return stated
    }
}

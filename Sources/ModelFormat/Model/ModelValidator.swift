/// Checks a model's arrays against its description, both ways: every array the architecture
/// needs is present with an allowed dtype and the exact shape, no other array is present (except
/// `ext.` arrays), float arrays are finite, and value rules hold (masks 0/1, step sizes > 0,
/// batch-norm variances >= 0, probe directions +-1).
public enum ModelValidator {
    public static func validate(sampler: SamplerSpec, probe: ProbeSpec?, arrays: [String: NDArray]) throws {
        try validate(model: .l2hmc(sampler), probe: probe, arrays: arrays)
    }

    public static func validate(model: ModelSpec, probe: ProbeSpec?, arrays: [String: NDArray]) throws {
        try model.validate()
        if let probe { try model.validate(probe: probe) }
        let present = arrays.keys.filter { !SamplerRules.isExtensionArray($0) }.count
        let needed = model.expectedArrayCount(probe: probe)
        if needed > present + 4096 {
            throw L2ZError.arrayMissing(name: "(\(needed - present) arrays)", reason: "the architecture in the manifest needs \(needed) arrays, only \(present) are present")
        }
        let expected = model.expectedArrays(probe: probe)
        for name in expected.keys.sorted() where arrays[name] == nil {
            throw L2ZError.arrayMissing(name: name, reason: "the architecture in the manifest needs it")
        }
        for (name, array) in arrays.sorted(by: { $0.key < $1.key }) {
            try ArrayName.validate(name)
            if array.dtype.isFloatingPoint {
                let bad = array.nonFiniteIndices()
                if let first = bad.first { throw L2ZError.nonFiniteValues(name: name, count: bad.count, firstIndex: first) }
            }
            if SamplerRules.isExtensionArray(name) { continue }
            guard let e = expected[name] else { throw L2ZError.arrayUnexpected(name: name) }
            guard e.dtypes.contains(array.dtype) else {
                throw L2ZError.arrayDTypeMismatch(name: name, expected: e.dtypes.map(\.rawValue).joined(separator: " or "), actual: array.dtype.rawValue)
            }
            guard e.shape == array.shape else { throw L2ZError.arrayShapeMismatch(name: name, expected: e.shape, actual: array.shape) }
            try checkValues(name: name, role: e.role, array: array)
        }
    }

    private static func checkValues(name: String, role: SamplerRules.Role, array: NDArray) throws {
        switch role {
        case .mask:
            if let i = array.bytes.firstIndex(where: { $0 > 1 }) {
                throw L2ZError.invalidArrayValues(name: name, reason: "element \(i) is \(array.bytes[i]); masks hold 0 or 1")
            }
        case .stepSize:
            if let i = array.doubles().firstIndex(where: { $0 <= 0 }) {
                throw L2ZError.invalidArrayValues(name: name, reason: "step size \(i) is \(array.doubles()[i]); step sizes must be > 0")
            }
        case .weight where name.hasSuffix(".batch_norm.moving_variance"):
            if let i = array.doubles().firstIndex(where: { $0 < 0 }) {
                throw L2ZError.invalidArrayValues(name: name, reason: "variance \(i) is negative")
            }
        case .probe where name == ProbeArrayNames.Trajectory.direction:
            if let i = array.doubles().firstIndex(where: { $0 != 1 && $0 != -1 }) {
                throw L2ZError.invalidArrayValues(name: name, reason: "direction \(i) is \(array.doubles()[i]); directions are +1 or -1")
            }
        default:
            break
        }
    }
}

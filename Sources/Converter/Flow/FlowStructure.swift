import ModelFormat

/// The architecture a flow file's tensors state (docs/CONVERT.md, "PyTorch U(1) flows"): the
/// number of coupling layers, the kernel size, the hidden channels and the mixture size, read
/// from the shapes of `{i}.plaq_coupling.net.{2j}.weight|bias` and checked for consistency:
///
/// - layers 0 ..< N all present; convolutions at module indices 0, 2, ..., 2H, each with a
///   weight (c_out, c_in, k, k) (k odd, the same in every convolution) and a bias (c_out);
///   nothing at an odd index (upstream's activations have no parameters);
/// - c_in of convolution 0 is 2 (cos, sin); c_in of convolution j is c_out of j - 1; the last
///   c_out is n_mix + 1 >= 2 (n_mix scales, one shift);
/// - every layer has layer 0's shapes (the format stores one network description).
///
/// What the shapes cannot say (activation, angle convention, beta, trained lattice) are facts.
struct FlowStructure: Equatable {
    let layers: Int
    let kernelSize: Int
    let hiddenChannels: [Int]
    let nMix: Int

    /// (c_out, c_in, k, k) of convolution j (the source's layout).
    var weightShapes: [[Int]] {
        let sizes = [2] + hiddenChannels + [nMix + 1]
        return (0..<(sizes.count - 1)).map { [sizes[$0 + 1], sizes[$0], kernelSize, kernelSize] }
    }

    init(tensors: [TorchFlowNaming.Key: TensorFileSource.TensorEntry]) throws {
        if let odd = tensors.first(where: { $0.key.moduleIndex % 2 == 1 }) {
            throw ConvertError.unrecognizedNaming(reason: "\(odd.value.location) is a module with parameters between the convolutions of plaq_coupling.net (the upstream flows' activations have none): not the U(1) flow family")
        }
        let layerIndices = Set(tensors.keys.map(\.layer))
        let count = (layerIndices.max() ?? -1) + 1
        if let gap = (0..<count).first(where: { !layerIndices.contains($0) }) {
            throw ConvertError.missingArray(canonical: FlowRules.kernelName(layer: gap, conv: 0),
                                            expectedSource: "\(TorchFlowNaming.key(layer: gap, conv: 0, variable: "weight")) (coupling layers 0..\(count - 1) must all be present)")
        }
        let modules = Set(tensors.keys.filter { $0.layer == 0 }.map(\.moduleIndex))
        let convs = (modules.max() ?? 0) / 2 + 1
        func entry(_ i: Int, _ j: Int, _ v: String) throws -> TensorFileSource.TensorEntry {
            guard let e = tensors[TorchFlowNaming.Key(layer: i, moduleIndex: 2 * j, variable: v)] else {
                throw ConvertError.missingArray(canonical: v == "weight" ? FlowRules.kernelName(layer: i, conv: j) : FlowRules.biasName(layer: i, conv: j),
                                                expectedSource: TorchFlowNaming.key(layer: i, conv: j, variable: v))
            }
            return e
        }
        // Layer 0 defines the network; every layer must repeat it.
        var shapes: [[Int]] = []
        for j in 0..<convs {
            let w = try entry(0, j, "weight")
            guard w.shape.count == 4, w.shape[2] == w.shape[3], w.shape[2] % 2 == 1, w.shape[0] >= 1, w.shape[1] >= 1 else {
                throw ConvertError.shapeMismatch(source: w.location, canonical: FlowRules.kernelName(layer: 0, conv: j), expected: [-1, -1, -1, -1], actual: w.shape,
                                                 reason: "a Conv2d weight is (c_out, c_in, k, k) with an odd square kernel k (circular padding k // 2)")
            }
            let cIn = j == 0 ? 2 : shapes[j - 1][0]
            let k = shapes.first?[2] ?? w.shape[2]
            let want = [w.shape[0], cIn, k, k]
            guard w.shape == want else {
                let why = j == 0 ? "the first convolution reads 2 channels (cos, sin of the frozen plaquettes)"
                    : w.shape[2] != k ? "every convolution has the kernel size of the first (\(k))" : "its input channels are the previous convolution's outputs (\(cIn))"
                throw ConvertError.shapeMismatch(source: w.location, canonical: FlowRules.kernelName(layer: 0, conv: j), expected: want, actual: w.shape, reason: why)
            }
            shapes.append(want)
        }
        let last = shapes[convs - 1][0]
        guard last >= 2 else {
            throw ConvertError.shapeMismatch(source: TorchFlowNaming.key(layer: 0, conv: convs - 1, variable: "weight"), canonical: FlowRules.kernelName(layer: 0, conv: convs - 1),
                                             expected: [-1, shapes[convs - 1][1], shapes[0][2], shapes[0][2]], actual: shapes[convs - 1],
                                             reason: "the last convolution outputs n_mix + 1 >= 2 channels (n_mix scales, then the shift)")
        }
        for i in 0..<count {
            let here = Set(tensors.keys.filter { $0.layer == i }.map(\.moduleIndex))
            if let extra = here.subtracting(Set((0..<convs).map { 2 * $0 })).min() {
                throw ConvertError.shapeMismatch(source: "\(i).plaq_coupling.net.\(extra)", canonical: "layer\(i)", expected: [convs], actual: [extra / 2 + 1],
                                                 reason: "every coupling layer has layer 0's \(convs) convolutions (module indices 0..\(2 * (convs - 1)))")
            }
            for j in 0..<convs {
                let w = try entry(i, j, "weight"), b = try entry(i, j, "bias")
                guard w.shape == shapes[j] else {
                    throw ConvertError.shapeMismatch(source: w.location, canonical: FlowRules.kernelName(layer: i, conv: j), expected: shapes[j], actual: w.shape,
                                                     reason: "every coupling layer has layer 0's network (source layout (c_out, c_in, k, k))")
                }
                guard b.shape == [shapes[j][0]] else {
                    throw ConvertError.shapeMismatch(source: b.location, canonical: FlowRules.biasName(layer: i, conv: j), expected: [shapes[j][0]], actual: b.shape,
                                                     reason: "a Conv2d bias has one entry per output channel")
                }
            }
        }
        layers = count
        kernelSize = shapes[0][2]
        hiddenChannels = shapes.dropLast().map { $0[0] }
        nMix = last - 1
    }
}

/// The state-dict keys of the upstream U(1) normalizing flows (the 2021 tutorial's
/// `layers.state_dict()`, nftqcd/fthmc's `model_state_dict`): an `nn.ModuleList` of coupling
/// layers whose `plaq_coupling.net` is an `nn.Sequential` of circular `Conv2d`s with
/// parameter-free activations between them, so convolution j sits at module index 2j:
///
///     {i}.plaq_coupling.net.{2j}.weight   (c_out, c_in, k, k)  ->  layer<i>.conv<j>.kernel [k, k, c_in, c_out]
///     {i}.plaq_coupling.net.{2j}.bias     (c_out)              ->  layer<i>.conv<j>.bias   [c_out]
///
/// An odd module index (an activation with parameters) is not this family (``match(_:)``
/// returns it as ``Key/moduleIndex`` and the structure check refuses it).
enum TorchFlowNaming {
    static let name = "torch-flow"

    /// One parsed key.
    struct Key: Hashable {
        /// Coupling layer i.
        let layer: Int
        /// Index inside the `nn.Sequential` (2j for convolution j).
        let moduleIndex: Int
        /// `weight` or `bias`.
        let variable: String
    }

    /// The key's parts, or nil when the key is not in this naming. Indices are plain decimal
    /// (no sign, no leading zero except "0", at most 6 digits).
    static func match(_ key: String) -> Key? {
        let parts = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 5, parts[1] == "plaq_coupling", parts[2] == "net",
              let i = index(parts[0]), let m = index(parts[3]), parts[4] == "weight" || parts[4] == "bias" else { return nil }
        return Key(layer: i, moduleIndex: m, variable: parts[4])
    }

    /// True when any key has the `{i}.plaq_coupling.net.` shape (the file is meant as a flow).
    static func looksLikeFlow(_ keys: [String]) -> Bool { keys.contains { match($0) != nil } }

    /// The source key of convolution `conv` of layer `layer`.
    static func key(layer: Int, conv: Int, variable: String) -> String { "\(layer).plaq_coupling.net.\(2 * conv).\(variable)" }

    private static func index(_ s: String) -> Int? {
        guard !s.isEmpty, s.count <= 6, s.allSatisfy({ $0.isASCII && $0.isNumber }), s == "0" || !s.hasPrefix("0") else { return nil }
        return Int(s)
    }
}

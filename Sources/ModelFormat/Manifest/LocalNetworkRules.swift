/// The rules of local networks that do not depend on arithmetic: input channels, the mask rule
/// evaluated at any lattice size, the allowed ranges and the per-network array table
/// (docs/FORMAT.md, "Local networks").
public enum LocalNetworkRules {
    /// Per-site input features of every local network (x-networks: the read links' cos/sin, the
    /// read flags, the momenta; v-networks: cos/sin of both links, cos/sin of the plaquette, the
    /// force).
    public static let inputChannels = 8
    /// Outputs per site of each head: one per link direction mu.
    public static let headChannels = 2
    /// Largest kernel side accepted in a manifest.
    public static let maxKernelSize = 15
    /// Largest number of channels of one layer.
    public static let maxChannels = 4096

    /// The update mask of stored step `step` on an lt x lx lattice with the given link layout:
    /// 2 lt lx values in the layout's link order, 1 where the first x sub-update of that step
    /// moves the link. `checkerboard`: 1 iff t + x + mu + step is even. Any lattice size works;
    /// for even lt and lx every plaquette has two moved and two read links.
    public static func updateMask(_ rule: LocalMaskRule, step: Int, lt: Int, lx: Int, layout: LinkLayout) -> [UInt8] {
        var mask = [UInt8](repeating: 0, count: 2 * lt * lx)
        switch rule {
        case .checkerboard:
            for t in 0..<lt {
                for x in 0..<lx {
                    for mu in 0..<2 where (t + x + mu + step) % 2 == 0 {
                        mask[layout.index(t: t, x: x, mu: mu, lt: lt, lx: lx)] = 1
                    }
                }
            }
        }
        return mask
    }

    /// Adds one local network's arrays to an array-table walk.
    static func walkNetwork<V: ArrayTableVisitor>(_ name: String, _ net: NetworkSpec, _ local: LocalNetworkSpec, into v: inout V,
                                                   entry: ([Int], SamplerRules.Role) -> SamplerRules.ExpectedArray) {
        let k = local.kernelSize
        let channels = [inputChannels] + net.hiddenUnits
        for i in net.hiddenUnits.indices {
            v.add("\(name).conv\(i).kernel", entry([k, k, channels[i], channels[i + 1]], .weight))
            v.add("\(name).conv\(i).bias", entry([channels[i + 1]], .bias))
        }
        let c1 = net.hiddenUnits.first ?? 0, cl = net.hiddenUnits.last ?? 0  // validate() requires at least one layer
        if net.timeInput { v.add("\(name).t_layer.kernel", entry([2, c1], .weight)); v.add("\(name).t_layer.bias", entry([c1], .bias)) }
        if net.batchNorm != nil {
            for p in ["gamma", "beta", "moving_mean", "moving_variance"] { v.add("\(name).batch_norm.\(p)", entry([cl], .weight)) }
        }
        for head in ["scale", "translation", "transformation"] {
            v.add("\(name).\(head).kernel", entry([cl, headChannels], .weight)); v.add("\(name).\(head).bias", entry([headChannels], .bias))
        }
        if net.scaleHead == .tanhExpCoeff { v.add("\(name).scale.coeff", entry([headChannels], .bias)) }
        if net.transformationHead == .tanhExpCoeff { v.add("\(name).transformation.coeff", entry([headChannels], .bias)) }
    }

    /// Cross-field rules of a local network: a U(1) target, an odd kernel side in range, channel
    /// widths in range, no network probes (only the trajectory probe).
    static func validate(_ s: SamplerSpec, _ local: LocalNetworkSpec) throws {
        guard case .u1 = s.target else {
            throw L2ZError.manifestInvalidValue(path: "network.kind", expected: "\"dense\" for a Gaussian mixture (local networks act on the sites of a U(1) lattice)", actual: "\"local\"")
        }
        let k = local.kernelSize
        guard k % 2 == 1, (1...maxKernelSize).contains(k) else {
            throw L2ZError.manifestInvalidValue(path: "network.kernel_size", expected: "an odd number in 1...\(maxKernelSize)", actual: "\(k)")
        }
        guard s.network.hiddenUnits.allSatisfy({ $0 <= maxChannels }) else {
            throw L2ZError.manifestInvalidValue(path: "network.channels", expected: "widths of at most \(maxChannels)", actual: "\(s.network.hiddenUnits)")
        }
    }
}

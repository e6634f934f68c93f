/// Human-readable description of a sampler, as printed by `l2hmc-convert inspect` and
/// `l2hmc-run`.
public enum ModelDescription {
    public static func lines(_ s: SamplerSpec) -> [String] {
        var out: [String] = []
        switch s.target {
        case let .u1(l):
            out.append("target      2D U(1) Wilson action, \(l.lt) x \(l.lx) lattice (\(2 * l.lt * l.lx) links), beta \(l.beta), link layout \(l.linkLayout.rawValue)")
        case let .gaussianMixture(g):
            out.append("target      Gaussian mixture in R^\(g.dimension), \(g.weights.count) components, weights \(g.weights)")
            for (m, mu) in g.means.enumerated() { out.append("            component \(m): mean \(mu)") }
        }
        let d = s.dynamics
        out.append("leapfrog    N_LF \(d.nLF) (trained), x update \(d.xUpdate.rawValue), T sign \(d.translationSign == .plus ? "+" : "-"), eps_x \(d.epsXParametrization.rawValue), eps_v \(d.epsVParametrization.rawValue)")
        let n = s.network
        let nets = n.layout == .shared ? "shared across steps" : "one set per step"
        if let local = n.kind.local {
            out.append("networks    local: \(local.kernelSize)x\(local.kernelSize) periodic convolutions, channels \(n.hiddenUnits), \(n.activation.rawValue); \(nets), \(n.xNetworksPerStep) x-network(s) per step")
            out.append("inputs      8 features per site, masks by rule \(local.maskRule.rawValue), time input \(n.timeInput ? "on" : "off"); runs at any lattice size")
        } else {
            out.append("networks    \(nets), \(n.xNetworksPerStep) x-network(s) per step, hidden \(n.hiddenUnits), \(n.activation.rawValue)")
            let placement = n.maskPlacement.map { ", mask \($0.rawValue)" } ?? ""
            out.append("inputs      x-net \(n.xNetInput.rawValue)\(placement), v-net \(n.vNetInput.rawValue), time input \(n.timeInput ? "on" : "off")")
            if let c = n.convStack {
                let layers = c.layers.map { "\($0.filters)x\($0.kernelSize)\($0.pool > 1 ? "/pool \($0.pool)" : "")\($0.activation ? "+act" : "")" }
                out.append("conv stack  \(c.appliesTo == .xNetworks ? "x-networks" : "x- and v-networks"): periodic conv \(layers.joined(separator: ", ")) (\(c.poolOrder.rawValue)), dense \(c.denseUnits); runs only at its lattice")
            }
        }
        out.append("heads       S \(n.scaleHead.rawValue), T linear, Q \(n.transformationHead.rawValue)\(n.batchNorm.map { ", batch norm eps \($0.epsilon)" } ?? "")")
        let w = s.netWeights.values.map { formatNumber($0) }
        out.append("net weights x: S \(w[0]) T \(w[1]) Q \(w[2]); v: S \(w[3]) T \(w[4]) Q \(w[5])")
        return out
    }

    /// Compact number formatting for tables (up to 6 significant digits).
    public static func formatNumber(_ x: Double) -> String {
        if x == 0 { return "0" }
        if x == x.rounded() && abs(x) < 1e6 { return String(Int(x)) }
        let a = abs(x)
        if a >= 1e-3 && a < 1e6 {
            var s = String(format: "%.6g", x)
            if s.contains("e") { s = String(format: "%.4e", x) }
            return s
        }
        return String(format: "%.4e", x)
    }
}

import Foundation

extension ModelDescription {
    /// The description of a model of any family.
    public static func lines(_ spec: ModelSpec) -> [String] {
        switch spec {
        case let .l2hmc(s): return lines(s)
        case let .flow(f): return lines(f)
        }
    }

    /// A flow: its lattice, coupling layers, inner networks and FT-HMC defaults.
    public static func lines(_ f: FlowSpec) -> [String] {
        let l = f.target, c = f.coupling
        return [
            "target      2D U(1) Wilson action, trained on \(l.lt) x \(l.lx) (\(2 * l.lt * l.lx) links), beta \(l.beta), link layout \(l.linkLayout.rawValue)",
            "flow        \(c.layers) U(1) plaquette coupling layers, masks by rule \(c.maskRule.rawValue), NCP mixture of \(c.nMix); runs at any lattice size with both sides multiples of 4",
            "networks    \(c.kernelSize)x\(c.kernelSize) circular convolutions, channels [2, \(c.hiddenChannels.map(String.init).joined(separator: ", "))\(c.hiddenChannels.isEmpty ? "" : ", ")\(c.nMix + 1)], \(c.activation.rawValue)",
            "prior       \(c.prior.rawValue) on every link; source angles \(c.angleConvention == .zeroToTwoPi ? "[0, 2pi)" : "[-pi, pi)")",
            "ft-hmc      step size \(formatNumber(f.hmc.stepSize)) in z, N_LF \(f.hmc.nLF) (defaults of l2hmc-run)",
        ]
    }
}

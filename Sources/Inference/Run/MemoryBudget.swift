import Foundation
import ModelFormat
#if canImport(Glibc)
import Glibc
#endif

/// The memory a run will need, estimated before anything is allocated, and the limit it must
/// stay under (`--max-memory`, default 80 % of the memory this process may use: the smaller of
/// the machine's physical memory and the cgroup limit).
///
/// The estimate counts the large allocations: the sampler's chain buffers (6 C n values), the
/// integrators' buffers (HMC C n; L2HMC 8 C n plus the network workspace C (2 w + 3 n) and twice
/// the model's parameters), the in-memory record (per trajectory and chain 41 bytes, 24 bytes of
/// statistics scratch, plus 24 for U(1), or for a mixture 8 (d + 1) + 56 + 8 (d + 2): each
/// position is its own small array) and a fixed 96 MiB for the process itself (Swift runtime,
/// OpenBLAS buffers). It is meant as an upper estimate, so that a refused request would really
/// not fit; estimates against measured peaks are listed in docs/RUNTIME.md.
public enum MemoryBudget {
    public struct Estimate: Sendable {
        public let bytes: Double
        /// The parts, largest first (for the error message and `--help`).
        public let parts: [(name: String, bytes: Double)]
    }

    static let processBaseline = 96.0 * 1024 * 1024

    /// Estimated peak bytes of a run (`record` counts trajectories already done on resume).
    public static func estimate(settings s: RunSettings, target: Target, model: L2ZModel?) -> Estimate {
        let c = Double(s.chains), n = Double(target.stateSize), t = Double(s.trajectories)
        var parts: [(String, Double)] = [("process", processBaseline)]
        parts.append(("chain buffers", (6 * c * n + 6 * c) * 8))
        if s.schedule.usesHMC { parts.append(("HMC integrator", c * n * 8)) }
        if s.schedule.usesL2HMC, let model, case let .l2hmc(sampler) = model.spec {
            let width = Double(sampler.network.hiddenUnits.max() ?? 0)
            let parameters = model.arrays.values.reduce(0.0) { $0 + Double($1.elementCount) }
            if let local = sampler.network.kind.local {
                // Chain buffers plus the local networks' scratch (``LocalNetworkSet``): at most
                // its im2col budget plus features, two hidden layers and heads per (chain, site) row.
                let sites = n / 2, patch = Double(local.kernelSize * local.kernelSize) * max(width, 8)
                let rows = min(c, max(1, (Double(LocalNetworkSet.patchBudget) / (sites * patch)).rounded(.down))) * sites
                parts.append(("L2HMC integrator", (8 * c * n + rows * (8 + patch + 3 * width + 6)) * 8))
            } else {
                parts.append(("L2HMC integrator", (8 * c * n + c * (2 * width + 3 * n)) * 8))
            }
            parts.append(("network parameters", 2 * parameters * 8))
        }
        if s.schedule.usesFlow, let model, case let .flow(f) = model.spec {
            // One FlowMap per proposal (its layers share one network workspace): the workspace
            // for tile x sites rows, each layer's input links and a few state-sized buffers.
            let tile = Double(s.effectiveTile), perRow = Double(FlowConvNetwork.Workspace.bytesPerRow(convolutions: f.coupling.convolutionChannels, kernelSize: f.coupling.kernelSize))
            let oneMap = tile * (n / 2) * (perRow + 8 * Double(2 * (f.coupling.nMix + 1) + 4)) + Double(f.coupling.layers + 6) * tile * n * 8
            // The summary's flow ESS evaluates batches of at most 65536 (draw, site) rows.
            let ess = min(128 * (n / 2), 65536) * (perRow + 8 * Double(2 * (f.coupling.nMix + 1) + 4))
            parts.append(("flow workspaces", Double(s.schedule.kinds.filter(\.usesFlow).count) * oneMap + ess))
        }
        var perCell = 41.0 + 3 * 8
        switch target {
        case .u1: perCell += 24
        case let .gaussianMixture(g):
            // A position is its own array (48-byte object plus 8 bytes of pointer), and the
            // statistics take d + 2 more values per cell.
            let d = Double(g.dimension)
            perCell += 8 * (d + 1) + 56 + 8 * (d + 2)
        }
        parts.append(("record", t * c * perCell + t * 9 * 48))
        let sorted = parts.sorted { $0.1 > $1.1 }.map { (name: $0.0, bytes: $0.1) }
        return Estimate(bytes: sorted.reduce(0) { $0 + $1.bytes }, parts: sorted)
    }

    /// The estimate; throws `run.too_large` when it exceeds `limit`.
    @discardableResult
    public static func check(settings: RunSettings, target: Target, model: L2ZModel?, limit: Double) throws -> Estimate {
        let e = estimate(settings: settings, target: target, model: model)
        guard e.bytes <= limit else {
            let biggest = e.parts.first.map { " (largest part: \($0.name), \(format($0.bytes)))" } ?? ""
            throw InferenceError.tooLarge(request: "this run (\(settings.chains) chains x \(target.stateSize) values, \(settings.trajectories) trajectories)\(biggest)",
                                          estimateBytes: e.bytes, limitBytes: limit)
        }
        return e
    }

    /// 80 % of the memory available to this process.
    public static var defaultLimit: Double { 0.8 * availableMemory }

    /// The smaller of physical memory and the cgroup v2/v1 limit, in bytes.
    public static var availableMemory: Double {
        let physical = Double(sysconf(Int32(_SC_PHYS_PAGES))) * Double(sysconf(Int32(_SC_PAGESIZE)))
        var limit = physical > 0 ? physical : 8 * 1024 * 1024 * 1024
        for file in ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"] {
            if let text = try? String(contentsOfFile: file, encoding: .utf8), let v = Double(text.trimmingCharacters(in: .whitespacesAndNewlines)), v > 0 {
                limit = min(limit, v)
            }
        }
        return limit
    }

    /// Parses `8G`, `512M`, `2.5GiB`, `100000000` (bytes); nil when it is not a positive size.
    public static func parse(_ text: String) -> Double? {
        let t = text.trimmingCharacters(in: .whitespaces).uppercased()
        let k = 1024.0, m = k * k, g = m * k, t4 = g * k
        let units: [(String, Double)] = [("TIB", t4), ("GIB", g), ("MIB", m), ("KIB", k), ("TB", t4), ("GB", g), ("MB", m), ("KB", k),
                                         ("T", t4), ("G", g), ("M", m), ("K", k), ("B", 1)]
        for (suffix, scale) in units where t.hasSuffix(suffix) {
            guard let v = Double(t.dropLast(suffix.count)), v > 0, v.isFinite else { return nil }
            return v * scale
        }
        guard let v = Double(t), v > 0, v.isFinite else { return nil }
        return v
    }

    /// `1.5 GiB`, `300 MiB`.
    public static func format(_ bytes: Double) -> String {
        if bytes >= 1024 * 1024 * 1024 { return String(format: "%.1f GiB", bytes / (1024 * 1024 * 1024)) }
        return String(format: "%.0f MiB", bytes / Double(1 << 20))
    }
}

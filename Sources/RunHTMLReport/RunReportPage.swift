import Foundation
import HTMLReport
import Inference
import ModelFormat

/// `l2hmc-run report DIR`: one self-contained HTML page (inline SVG, no script, no network) of a
/// run directory (docs/RUNTIME.md, "Run report"). Deterministic: the same directory gives the
/// same bytes (no dates, fixed number formats).
///
/// Panels, from the directory's own files (`params.json`, `summary.json` when the run finished,
/// the per-trajectory `.npy` series):
/// - parameters and the summary table (estimates, errors, tau_int, exact values, z-scores;
///   rows with |z| > ``zFlag`` are marked);
/// - U(1): Q_int(t) of the first chains; the histogram of Q_int after thermalization against the
///   exact finite-volume distribution (``U1Exact/chargeDistribution(beta:volume:maxCharge:)``);
///   the chain-mean plaquette per trajectory with the exact value; autocorrelation functions of
///   Q_int and the plaquette with the Sokal window and tau_int; cumulative tunneling events;
/// - every run: acceptance probability and dH (chain means) per trajectory, by sampler; the
///   running mean of exp(-dH + log det) against 1; any other observable series as chain means.
public enum RunReportPage {
    /// |z| above which a summary row is marked when summary.json has no `z_threshold` (older
    /// runs): the default of `l2hmc-run --z-threshold` and `crossval` (``ZScore/defaultThreshold``).
    public static let zFlag = ZScore.defaultThreshold
    /// Chains drawn in the Q_int(t) panel.
    public static let chainsShown = 6

    /// `compare`: a compare JSON (`l2hmc-run compare --json`) and its path, whose tables and plots
    /// are added as a last section, "Comparison with tuned HMC" (without it the page is unchanged).
    public static func html(directory: String, toolVersion: String, compare: (path: String, json: JSONValue)? = nil) throws -> String {
        func finish(_ page: inout HTMLPage) throws -> String {
            if let c = compare {
                page.heading("Comparison with tuned HMC")
                page.paragraph("From \(c.path) (l2hmc-run compare --json): its own runs of the model, the model with its networks off and plain HMC over a grid of step sizes and trajectory lengths, not this run directory.")
                try CompareReportPage.appendSections(to: &page, json: c.json, path: c.path)
            }
            return page.html()
        }
        let reader = RunDirectoryReader(path: directory, limits: .init())
        let params = try reader.json("params.json")
        let summary = FileManager.default.fileExists(atPath: directory + "/summary.json") ? try reader.json("summary.json") : nil
        func series(_ name: String) throws -> (values: [Double], rows: Int, cols: Int)? {
            let path = "\(directory)/\(name).npy"
            guard FileManager.default.fileExists(atPath: path) else { return nil }
            let a = try NpyCodec.decode(try AtomicFile.read(path, limit: 1 << 31), name: name + ".npy", limits: ReadLimits())
            let rows = a.shape.first ?? 0
            return (a.doubles(), rows, a.shape.count == 2 ? a.shape[1] : 1)
        }
        var page = HTMLPage(title: "l2hmc-run report: \(URL(fileURLWithPath: directory).lastPathComponent)")
        page.paragraph("Run directory \(directory); made by \(toolVersion) from the directory's own files (params.json, summary.json, the per-trajectory .npy series). No script, no network.")

        // Parameters.
        page.heading("Parameters")
        var rows: [[String]] = []
        if case let .object(o) = params {
            for (k, v) in o.sorted(by: { $0.key < $1.key }) { rows.append([k, ReportJSON.text(v)]) }
        }
        page.table(["parameter", "value"], rows)

        // Summary.
        page.heading("Summary")
        if case let .object(s)? = summary {
            if case let .array(qs)? = s["quantities"] {
                var r: [[String]] = [], flags: [Bool] = []
                let threshold = ReportJSON.number(s["z_threshold"]) ?? zFlag
                for case let .object(q) in qs {
                    let z = ReportJSON.number(q["z"])
                    r.append([ReportJSON.text(q["name"] ?? .null), ReportJSON.fmt(ReportJSON.number(q["mean"])), ReportJSON.fmt(ReportJSON.number(q["error"])), ReportJSON.fmt(ReportJSON.number(q["tau_int"])),
                              ReportJSON.fmt(ReportJSON.number(q["exact"])), z.map { String(format: "%+.2f", $0) } ?? (q["z_undefined"] == nil ? "-" : "undefined")])
                    flags.append(abs(z ?? 0) > threshold)
                }
                page.table(["quantity", "estimate", "error", "tau_int", "exact", "z"], r, flagged: flags)
                if flags.contains(true) {
                    var note = "Marked rows deviate from the exact value by more than \(ReportJSON.fmt(threshold)) error bars"
                    if case let .string(w)? = s["z_warning"] { note += " (the run's warning: \(w))" }
                    page.paragraph(note + ".", cssClass: "warn")
                }
            }
            var facts: [[String]] = []
            for key in ["trajectories_used", "trajectories_dropped", "chains", "mean_boltzmann_factor", "acceptance", "tunneling"] {
                if let v = s[key] { facts.append([key, ReportJSON.text(v)]) }
            }
            if let e = ReportJSON.object(s["equilibration"]) {
                var evidence: [String] = []
                if case let .array(items)? = e["evidence"] { evidence = items.map(ReportJSON.text) }
                facts.append(["equilibration", ReportJSON.text(e["verdict"] ?? .null) + (evidence.isEmpty ? "" : ": " + evidence.joined(separator: "; "))])
            }
            page.table(["item", "value"], facts)
        } else {
            page.paragraph("No summary.json: the run has not finished (continue it with --resume). The panels show what is recorded.", cssClass: "warn")
        }

        guard let accept = try series("accept_prob") else {
            page.paragraph("No per-trajectory series in this directory.", cssClass: "warn")
            return try finish(&page)
        }
        let trajectories = accept.rows
        let thermalization = ReportJSON.number(ReportJSON.object(params)?["thermalization"]) ?? 0
        let dropped = min(trajectories, Int((thermalization * Double(trajectories)).rounded(.down)))
        let sampler = try series("sampler")?.values ?? []
        func chainMean(_ s: (values: [Double], rows: Int, cols: Int)) -> [Double] {
            (0..<s.rows).map { t in (0..<s.cols).reduce(0) { $0 + s.values[t * s.cols + $1] } / Double(s.cols) }
        }
        func column(_ s: (values: [Double], rows: Int, cols: Int), _ c: Int, from: Int = 0) -> [Double] {
            (from..<s.rows).map { s.values[$0 * s.cols + c] }
        }
        let target = ReportJSON.object(ReportJSON.object(params)?["target"])
        let isU1 = ReportJSON.text(target?["kind"] ?? .null) == "u1_2d"

        if isU1, let q = try series("q_int") {
            let lt = Int(ReportJSON.number(target?["lt"]) ?? 0), lx = Int(ReportJSON.number(target?["lx"]) ?? 0), beta = ReportJSON.number(target?["beta"]) ?? 0
            page.heading("Topological charge")
            var plot = SVGPlot(title: "Q_int(t), first \(min(chainsShown, q.cols)) chains", xLabel: "trajectory", yLabel: "Q_int")
            for c in 0..<min(chainsShown, q.cols) {
                plot.series.append(.init(label: "chain \(c)", points: column(q, c).enumerated().map { (Double($0.offset + 1), $0.element) }, style: .step))
            }
            if dropped > 0 { plot.verticalLines.append((Double(dropped), "thermalization")) }
            page.figure(plot.svg(), caption: "Integer charge Q_int = sum of wrapped plaquette angles / 2 pi per trajectory, for the first chains.")

            // Histogram against the exact distribution.
            var counts: [Int: Int] = [:]
            var total = 0
            for t in dropped..<q.rows { for c in 0..<q.cols { counts[Int(q.values[t * q.cols + c].rounded()), default: 0] += 1; total += 1 } }
            if total > 0 {
                let qMax = max(3, counts.keys.map(abs).max() ?? 0)
                var hist = SVGPlot(title: "Distribution of Q_int after thermalization (\(total) samples)", xLabel: "Q_int", yLabel: "probability")
                hist.bars = (-qMax...qMax).map { SVGPlot.Bar(x0: Double($0) - 0.4, x1: Double($0) + 0.4, y: Double(counts[$0] ?? 0) / Double(total)) }
                hist.barLabel = "sampled"
                if lt > 0, lx > 0, beta > 0, let p = try? U1Exact.chargeDistribution(beta: beta, volume: lt * lx, maxCharge: qMax) {
                    hist.series.append(.init(label: "exact (character expansion, \(lt)x\(lx), beta \(ReportJSON.fmt(beta)))",
                                             points: (-qMax...qMax).map { (Double($0), p[abs($0)]) }, style: .points))
                }
                page.figure(hist.svg(), caption: "Bars: the fraction of samples at each charge; points: the exact finite-volume P(Q) on this torus. Correlated samples: compare with the summary's error bars.")
            }
            // Tunneling.
            var events = [Double](repeating: 0, count: q.rows)
            var cumulative = 0.0
            for t in 1..<max(1, q.rows) {
                for c in 0..<q.cols { cumulative += abs(q.values[t * q.cols + c].rounded() - q.values[(t - 1) * q.cols + c].rounded()) }
                events[t] = cumulative
            }
            var tun = SVGPlot(title: "Cumulative tunneling events (sum over chains of |dQ_int|)", xLabel: "trajectory", yLabel: "events")
            tun.series.append(.init(label: "", points: events.enumerated().map { (Double($0.offset + 1), $0.element) }))
            page.figure(tun.svg(), caption: "A flat curve means a frozen charge: the sampler does not tunnel.")

            if let plaq = try series("plaquette") {
                page.heading("Plaquette")
                var p = SVGPlot(title: "Mean plaquette per trajectory (mean over chains)", xLabel: "trajectory", yLabel: "<cos phi_P>")
                p.series.append(.init(label: "chain mean", points: chainMean(plaq).enumerated().map { (Double($0.offset + 1), $0.element) }))
                if lt > 0, lx > 0, beta > 0, let exact = try? U1Exact.plaquette(beta: beta, volume: lt * lx) {
                    p.horizontalLines.append((exact, "exact \(ReportJSON.fmt(exact))"))
                }
                if dropped > 0 { p.verticalLines.append((Double(dropped), "thermalization")) }
                page.figure(p.svg(), caption: "The plaquette is the mean over plaquettes of cos phi_P; the dashed line is the exact finite-volume value.")
                page.heading("Autocorrelation")
                var ac = SVGPlot(title: "Normalized autocorrelation after thermalization", xLabel: "lag (trajectories)", yLabel: "rho(lag)")
                for (name, s) in [("Q_int", q), ("plaquette", plaq)] {
                    let chainsSeries = (0..<s.cols).map { column(s, $0, from: dropped) }
                    guard (chainsSeries.first?.count ?? 0) > 2 else { continue }
                    let rho = Autocorrelation.normalizedAveraged(chainsSeries)
                    let tau = Autocorrelation.integratedTime(rho: rho)
                    let shown = Array(rho.prefix(max(10, min(rho.count, 4 * tau.window + 1))))
                    ac.series.append(.init(label: "\(name): tau_int \(ReportJSON.fmt(tau.tau)), window \(tau.window)\(tau.converged ? "" : " (not converged)")",
                                           points: shown.enumerated().map { (Double($0.offset), $0.element) }))
                    ac.verticalLines.append((Double(tau.window), "\(name) window"))
                }
                ac.horizontalLines.append((0, ""))
                page.figure(ac.svg(), caption: "Chain-averaged normalized autocorrelation; the dotted lines are Sokal's automatic windows (c = 5) that give tau_int.")
            }
        }

        if ReportJSON.text(target?["kind"] ?? .null) == "gaussian_mixture" {
            try mixturePanels(&page, directory: directory, target: target ?? [:], dropped: dropped)
        }

        // Sampler health.
        page.heading("Acceptance and energy")
        let kinds: [(String, Double)] = [("l2hmc", 0), ("hmc", 1)]
        var acc = SVGPlot(title: "Acceptance probability per trajectory (mean over chains)", xLabel: "trajectory", yLabel: "acceptance")
        acc.yRange = (0, 1)
        let accMean = chainMean(accept)
        for (name, code) in kinds {
            let pts = accMean.enumerated().filter { sampler.isEmpty || sampler[$0.offset] == code }.map { (Double($0.offset + 1), $0.element) }
            if !pts.isEmpty { acc.series.append(.init(label: name, points: pts, style: .points)) }
        }
        page.figure(acc.svg(), caption: "Each point is one trajectory, coloured by the sampler that made it.")
        if let dh = try series("energy_change") {
            var d = SVGPlot(title: "dH per trajectory (mean over chains)", xLabel: "trajectory", yLabel: "dH")
            d.series.append(.init(label: "", points: chainMean(dh).enumerated().map { (Double($0.offset + 1), $0.element) }))
            d.horizontalLines.append((0, ""))
            page.figure(d.svg(), caption: "The energy change of the proposal (H after minus H before).")
            if let ld = try series("log_det") {
                var running = 0.0
                var pts: [(x: Double, y: Double)] = []
                for t in 0..<dh.rows {
                    var m = 0.0
                    for c in 0..<dh.cols { m += exp(-dh.values[t * dh.cols + c] + ld.values[t * ld.cols + c]) }
                    running += m / Double(dh.cols)
                    pts.append((Double(t + 1), running / Double(t + 1)))
                }
                var b = SVGPlot(title: "Running mean of exp(-dH + log det)", xLabel: "trajectory", yLabel: "<exp(-dH + log det)>")
                b.series.append(.init(label: "", points: pts))
                b.horizontalLines.append((1, "1 (exact kernel)"))
                page.figure(b.svg(), caption: "For an exact, reversible, volume-correct kernel the expectation is exactly 1.")
            }
        }

        // Any other observable series.
        let known: Set<String> = ["sampler", "accept_prob", "accepted", "energy_change", "energy_before", "log_det", "q_int", "plaquette", "position", "mode"]
        let others = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter {
            $0.hasSuffix(".npy") && !$0.hasPrefix("states-") && $0 != "final_states.npy" && !known.contains(String($0.dropLast(4)))
        }.sorted()
        if !others.isEmpty { page.heading("Other observables") }
        for file in others {
            let name = String(file.dropLast(4))
            guard let s = try series(name), s.rows == trajectories, s.values.count == s.rows * s.cols else { continue }
            var p = SVGPlot(title: "\(name) per trajectory (mean over chains)", xLabel: "trajectory", yLabel: name)
            p.series.append(.init(label: "", points: chainMean(s).enumerated().map { (Double($0.offset + 1), $0.element) }))
            page.figure(p.svg(), caption: "Chain mean of the series \(file).")
        }
        return try finish(&page)
    }

    /// Mixtures: the sample cloud of the first two coordinates after thermalization against each
    /// component's 1- and 2-sigma ellipses (the density's contours for separated modes), and the
    /// fraction of chains in each mode per trajectory.
    static func mixturePanels(_ page: inout HTMLPage, directory: String, target: [String: JSONValue], dropped: Int) throws {
        func read(_ name: String) throws -> NDArray? {
            let path = "\(directory)/\(name).npy"
            guard FileManager.default.fileExists(atPath: path) else { return nil }
            return try NpyCodec.decode(try AtomicFile.read(path, limit: 1 << 31), name: name + ".npy", limits: ReadLimits())
        }
        var means: [[Double]] = [], covariances: [[[Double]]] = []
        if case let .array(ms)? = target["means"] { means = ms.map { v in if case let .array(a) = v { return a.compactMap { ReportJSON.number($0) } }; return [] } }
        if case let .array(cs)? = target["covariances"] {
            covariances = cs.map { c in
                if case let .array(rows) = c { return rows.map { r in if case let .array(a) = r { return a.compactMap { ReportJSON.number($0) } }; return [] } }
                return []
            }
        }
        page.heading("Mixture")
        if let position = try read("position"), position.shape.count == 3, position.shape[2] >= 2 {
            let (t, c, d) = (position.shape[0], position.shape[1], position.shape[2])
            let v = position.doubles()
            var cloud = SVGPlot(title: "Samples after thermalization (x0, x1) and the exact density's contours", xLabel: "x0", yLabel: "x1")
            cloud.height = 420
            var pts: [(x: Double, y: Double)] = []
            for tt in dropped..<t { for cc in 0..<c { pts.append((v[(tt * c + cc) * d], v[(tt * c + cc) * d + 1])) } }
            cloud.series.append(.init(label: "samples (\(pts.count))", points: pts, style: .points))
            // Contours of the exact marginal density of (x0, x1): sum_m w_m N(mu_m[0,1], Sigma_m[0:2, 0:2]).
            var weights: [Double] = []
            if case let .array(ws)? = target["weights"] { weights = ws.compactMap { ReportJSON.number($0) } }
            let components = (0..<min(means.count, covariances.count, weights.count)).compactMap { m -> (w: Double, mx: Double, my: Double, a: Double, b: Double, c: Double)? in
                guard means[m].count >= 2, covariances[m].count >= 2, covariances[m][0].count >= 2, covariances[m][1].count >= 2 else { return nil }
                return (weights[m], means[m][0], means[m][1], covariances[m][0][0], covariances[m][0][1], covariances[m][1][1])
            }
            if !components.isEmpty {
                func density(_ x: Double, _ y: Double) -> Double {
                    components.reduce(0) { sum, k in
                        let det = k.a * k.c - k.b * k.b
                        guard det > 0 else { return sum }
                        let dx = x - k.mx, dy = y - k.my
                        let q = (k.c * dx * dx - 2 * k.b * dx * dy + k.a * dy * dy) / det
                        return sum + k.w * exp(-q / 2) / (2 * Double.pi * det.squareRoot())
                    }
                }
                let xsData = pts.map(\.x) + components.flatMap { [$0.mx - 3 * $0.a.squareRoot(), $0.mx + 3 * $0.a.squareRoot()] }
                let ysData = pts.map(\.y) + components.flatMap { [$0.my - 3 * $0.c.squareRoot(), $0.my + 3 * $0.c.squareRoot()] }
                let (x0, x1) = (xsData.min() ?? -1, xsData.max() ?? 1), (y0, y1) = (ysData.min() ?? -1, ysData.max() ?? 1)
                let n = 96
                let gx = (0..<n).map { x0 + (x1 - x0) * Double($0) / Double(n - 1) }
                let gy = (0..<n).map { y0 + (y1 - y0) * Double($0) / Double(n - 1) }
                let grid = gy.map { y in gx.map { x in density(x, y) } }
                let peak = grid.flatMap { $0 }.max() ?? 0
                for (fraction, color) in [(0.5, "#000000"), (0.1, "#555555"), (0.01, "#999999")] {
                    let segs = ContourLines.segments(xs: gx, ys: gy, values: grid, level: fraction * peak)
                    cloud.series.append(.init(label: "density = \(Int(fraction * 100)) % of its maximum",
                                              points: segs.flatMap { [(x: $0.0.0, y: $0.0.1), (x: $0.1.0, y: $0.1.1)] }, style: .segments, color: color))
                }
            }
            page.figure(cloud.svg(), caption: "Each point is one chain at one trajectory (thinned to at most 2000 for drawing); the lines are contours of the exact marginal density of (x0, x1) at 50 %, 10 % and 1 % of its maximum.")
        }
        if let mode = try read("mode"), mode.shape.count == 2 {
            let (t, c) = (mode.shape[0], mode.shape[1])
            let v = mode.doubles()
            let modes = max(1, means.count)
            var occ = SVGPlot(title: "Fraction of chains in each mode per trajectory", xLabel: "trajectory", yLabel: "fraction")
            occ.yRange = (0, 1)
            for m in 0..<modes {
                let pts = (0..<t).map { tt in (Double(tt + 1), Double((0..<c).filter { Int(v[tt * c + $0]) == m }.count) / Double(c)) }
                occ.series.append(.init(label: "mode \(m)", points: pts))
            }
            page.figure(occ.svg(), caption: "A mode is the component with the largest responsibility; the exact occupancy is the component's weight.")
        }
    }
}

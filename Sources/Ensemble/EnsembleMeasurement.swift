import Foundation
import Inference
import ModelFormat

/// Observables recomputed from a saved ensemble, per saved trajectory and chain, with their
/// means and honest errors.
///
/// Per configuration: the plaquette, Q_int and Q_sin by the runtime's own code
/// (``Inference/U1Action/measure(_:rows:)``, the function a run records them with, so a saved
/// run's `plaquette.npy`, `q_int.npy` and `q_sin.npy` rows at the saved trajectories are
/// reproduced bit for bit), and the Wilson loops `W(R, T)`, R, T = 1 ... rMax (``WilsonLoops``).
///
/// Summary: after dropping the first `floor(thermalization * n)` saved configurations
/// (``Inference/Thermalization``), each quantity's mean over configurations and chains with the
/// error of the run summaries (``Inference/MeanEstimate``: the larger of Sokal's window error and,
/// with at least 8 chains, the chain-scatter error), needing at least 2 kept configurations;
/// exact values from the character expansion where they exist (plaquette, <Q_int^2> for V >= 3,
/// 0 for <Q_int>, W(R, T) from ``Inference/U1Exact/wilsonLoop(beta:volume:area:)``).
public struct EnsembleMeasurement {
    public struct Quantity {
        public let name: String
        public let estimate: MeanEstimate?
        public let exact: Double?
        public var z: Double? {
            guard let e = estimate, let x = exact else { return nil }
            let z = e.zScore(exact: x)
            return z.isFinite ? z : nil
        }
    }

    public let header: EnsembleHeader
    public let trajectories: [Int]
    public let rMax: Int
    public let thermalization: Double
    /// Per saved configuration, per chain: [n][chains].
    public private(set) var plaquette: [[Double]] = []
    public private(set) var qInt: [[Double]] = []
    public private(set) var qSin: [[Double]] = []
    /// [n][chains][(R - 1) * rMax + (T - 1)].
    public private(set) var wilson: [[[Double]]] = []

    /// Reads every configuration of `reader` in blocks and measures it.
    public init(reader: EnsembleReader, rMax: Int, thermalization: Double = Thermalization.defaultFraction) throws {
        let h = reader.header
        guard rMax >= 1, rMax < min(h.lattice.lt, h.lattice.lx) else {
            throw EnsembleError.invalidOption(name: "--wilson-max", reason: "must be in 1...\(min(h.lattice.lt, h.lattice.lx) - 1) on a \(h.lattice.lt)x\(h.lattice.lx) lattice, so that every loop is contractible (got \(rMax))")
        }
        guard thermalization.isFinite, thermalization >= 0, thermalization < 1 else {
            throw EnsembleError.invalidOption(name: "--thermalization", reason: "must be in [0, 1) (got \(thermalization))")
        }
        header = h; trajectories = reader.trajectories; self.rMax = rMax; self.thermalization = thermalization
        let action = U1Action(lattice: h.lattice)
        let loops = WilsonLoops(lattice: h.lattice, rMax: rMax)
        let n = h.linkCount, chains = h.chains
        let block = max(1, (8 << 20) / max(1, chains * n * 8))
        var row = 0
        while row < reader.count {
            let range = row..<min(reader.count, row + block)
            let values = try reader.configurations(range)
            values.withUnsafeBufferPointer { buffer in
                for i in 0..<range.count {
                    let base = buffer.baseAddress! + i * chains * n
                    let m = action.measure(base, rows: chains)
                    plaquette.append(m[0]); qInt.append(m[1]); qSin.append(m[2])
                    wilson.append((0..<chains).map { loops.measure(base + $0 * n) })
                }
            }
            row = range.upperBound
        }
    }

    /// Saved configurations dropped before the summary.
    public var dropped: Int { Thermalization.droppedCount(count: trajectories.count, fraction: thermalization) }

    /// The summary quantities, in order: plaquette, Q_int, Q_int^2, Q_sin, Q_sin^2, then
    /// W(R, T) for R = 1 ... rMax, T = 1 ... rMax.
    public var summary: [Quantity] {
        let volume = header.lattice.lt * header.lattice.lx, beta = header.lattice.beta
        func chainsOf(_ rows: [[Double]], _ f: (Double) -> Double = { $0 }) -> MeanEstimate? {
            let kept = Array(rows.dropFirst(dropped))
            guard kept.count >= 2 else { return nil }
            let series = (0..<header.chains).map { c in kept.map { f($0[c]) } }
            return MeanEstimate.estimate(chains: series)
        }
        var out = [
            Quantity(name: "plaquette", estimate: chainsOf(plaquette), exact: try? U1Exact.plaquette(beta: beta, volume: volume)),
            Quantity(name: "q_int", estimate: chainsOf(qInt), exact: 0),
            Quantity(name: "q_int^2", estimate: chainsOf(qInt) { $0 * $0 },
                     exact: volume >= 3 ? (try? U1Exact.topologicalSusceptibility(beta: beta, volume: volume))?.q2 : nil),
            Quantity(name: "q_sin", estimate: chainsOf(qSin), exact: 0),
            Quantity(name: "q_sin^2", estimate: chainsOf(qSin) { $0 * $0 }, exact: nil),
        ]
        for r in 1...rMax {
            for t in 1...rMax {
                let i = (r - 1) * rMax + t - 1
                let rows = wilson.map { $0.map { $0[i] } }
                out.append(Quantity(name: "W(\(r),\(t))", estimate: chainsOf(rows), exact: U1Exact.wilsonLoop(beta: beta, volume: volume, area: r * t)))
            }
        }
        return out
    }

    // MARK: Reports

    /// The text summary (one line per quantity).
    public func text(path: String) -> String {
        let h = header, l = h.lattice
        var lines = [
            "ensemble    \(path)",
            "target      U(1) \(l.lt)x\(l.lx), beta \(l.beta), links \(l.linkLayout.rawValue); \(h.chains) chains; model \(h.model == "hmc" ? "none (plain HMC)" : "sha256 \(h.model.prefix(16))...")",
            "saved       \(trajectories.count) configurations\(trajectories.isEmpty ? "" : ", trajectories \(trajectories[0])...\(trajectories[trajectories.count - 1]) every \(h.every)"), seed \(h.seed)",
            "kept        \(trajectories.count - dropped) (thermalization \(thermalization): first \(dropped) dropped)",
            row(["quantity", "mean", "error", "tau_int", "from", "exact", "z"]),
        ]
        for q in summary {
            guard let e = q.estimate else {
                lines.append(row([q.name, "(fewer than 2 kept configurations)"]))
                continue
            }
            let exact = q.exact.map { String(format: "%.8f", $0) } ?? "-"
            let z = q.z.map { String(format: "%+.2f", $0) } ?? "-"
            lines.append(row([q.name, String(format: "%.8f", e.mean), String(format: "%.2e", e.error), String(format: "%.2f", e.tauInt),
                              e.errorSource == .autocorrelation ? "window" : "chains", exact, z]))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Columns padded to fixed widths (the name left-aligned, the rest right-aligned).
    private func row(_ cells: [String]) -> String {
        let widths = [11, 12, 10, 8, 7, 12, 7]
        return cells.enumerated().map { i, c in
            let pad = String(repeating: " ", count: max(0, (i < widths.count ? widths[i] : 0) - c.count))
            return i == 0 ? c + pad : (i < widths.count ? " " + pad + c : " " + c)
        }.joined()
    }

    /// The machine-readable report: the summary and every per-configuration value.
    public func json(path: String) -> JSONValue {
        let h = header, l = h.lattice
        func number(_ x: Double?) -> JSONValue { x.flatMap { $0.isFinite ? JSONValue.double($0) : nil } ?? .null }
        let summaryRows: [JSONValue] = summary.map { q in
            var o: [String: JSONValue] = ["name": .string(q.name), "exact": number(q.exact), "z": number(q.z)]
            if let e = q.estimate {
                o["mean"] = number(e.mean); o["error"] = number(e.error); o["tau_int"] = number(e.tauInt)
                o["error_source"] = .string(e.errorSource.rawValue); o["window_converged"] = .bool(e.converged)
                o["error_autocorrelation"] = number(e.autocorrelationError); o["error_chain_scatter"] = number(e.chainScatterError)
            } else {
                o["mean"] = .null; o["error"] = .null
            }
            return .object(o)
        }
        func grid(_ rows: [[Double]]) -> JSONValue { .array(rows.map { .array($0.map { .double($0) }) }) }
        var loops: [String: JSONValue] = [:]
        for r in 1...rMax {
            for t in 1...rMax {
                let i = (r - 1) * rMax + t - 1
                loops["\(r)x\(t)"] = grid(wilson.map { $0.map { $0[i] } })
            }
        }
        return .object([
            "format": .string("l2hmc-ensemble-measurement 1"),
            "ensemble": .string(path),
            "lattice": .object(["lt": .int(Int64(l.lt)), "lx": .int(Int64(l.lx)), "beta": .double(l.beta), "link_layout": .string(l.linkLayout.rawValue)]),
            "chains": .int(Int64(h.chains)), "every": .int(Int64(h.every)), "seed": .string(String(h.seed)), "model": .string(h.model),
            "wilson_max": .int(Int64(rMax)), "thermalization": .double(thermalization), "dropped": .int(Int64(dropped)),
            "trajectory": .array(trajectories.map { .int(Int64($0)) }),
            "summary": .array(summaryRows),
            "per_configuration": .object([
                "plaquette": grid(plaquette),
                "q_int": .array(qInt.map { .array($0.map { v in Int64(exactly: v).map { JSONValue.int($0) } ?? .double(v) }) }),
                "q_sin": grid(qSin),
                "wilson_loops": .object(loops),
            ]),
        ])
    }
}

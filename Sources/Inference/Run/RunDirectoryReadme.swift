import Foundation
import ModelFormat

/// `README.txt` of a run directory: every file the run writes there, with its shape, element
/// type, units and meaning, for a reader who has only the directory.
///
/// Written atomically when the directory is created (``RunOutput/create``), and by `--resume`
/// into a directory that lacks it (written before it existed); never replaced. The text is a
/// function of the layout, chains, state size and target only (no dates, no paths), so two runs
/// with the same settings have the same README.
///
/// Format: a preamble, then one block per file separated by blank lines; each block is lines
/// `key: value` with the keys `file`, `shape`, `dtype`, `units`, `meaning` in this order
/// (`file: states-NNNNNNNNNN.npy` stands for the ten-digit trajectory count).
public enum RunDirectoryReadme {
    public static let fileName = "README.txt"

    /// One file of the directory.
    public struct Entry: Equatable, Sendable {
        public var file: String
        public var shape: String
        public var dtype: String
        public var units: String
        public var meaning: String
        public init(file: String, shape: String, dtype: String, units: String, meaning: String) {
            self.file = file; self.shape = shape; self.dtype = dtype; self.units = units; self.meaning = meaning
        }
    }

    /// The files of a run directory of `layout`, in the order a reader needs them.
    public static func entries(layout: RunDirectory.Layout, target: Target?) -> [Entry] {
        var e: [Entry] = [
            Entry(file: fileName, shape: "-", dtype: "text (UTF-8)", units: "-", meaning: "this description of every file of the directory"),
            Entry(file: "params.json", shape: "-", dtype: "JSON object", units: "-", meaning: """
                everything needed to repeat or resume the run (format "l2hmc-run-params 1"): chains; trajectories (the total asked \
                for, raised by --resume); seed (decimal string); thermalization (fraction of trajectories the summary drops); \
                schedule (the repeating pattern kind:count of l2hmc and hmc trajectories); hmc_start (HMC trajectories first); \
                hmc_eps and hmc_nlf (step size and steps of HMC trajectories); hmc_jitter (the step-size jitter F, each HMC trajectory \
                using hmc_eps * (1 + F u), u uniform in [-1, 1]; absent when not given); hot_start (random or all-zero start); tile (chains \
                per batched call); target (the distribution sampled, as in the model manifest: the U(1) lattice lt, lx, beta and \
                link_layout, or the mixture's weights, means and covariances); l2hmc_nlf, step_mapping, net_weights, compression \
                and precision (L2HMC options, null or absent when not given); model (the model file's absolute path, null for \
                plain HMC) and model_sha256 (the SHA-256 of its bytes, its identity: --resume refuses a model that changed); \
                tool, threads, processes (provenance; they never change the numbers)
                """),
            Entry(file: "state.json", shape: "-", dtype: "JSON object", units: "-", meaning: """
                the commit point, replaced atomically at every checkpoint (format "l2hmc-run-state 2"): trajectory_index (T, the \
                trajectories committed; rows of the .npy records and observables.csv beyond T are not part of the run and are cut \
                off by --resume), seed, chains (C), state_size (n), states_file and csv_bytes (the committed length of \
                observables.csv)
                """),
            Entry(file: "states-NNNNNNNNNN.npy", shape: "[C, n]", dtype: "float64", units: stateUnits(target), meaning: """
                the chain states after the T = NNNNNNNNNN committed trajectories (the point --resume continues from; \
                \(stateMeaning(target)))
                """),
            Entry(file: "observables.csv", shape: "one row per trajectory t < T and chain c", dtype: "CSV text with a header line", units: "as in the .npy files", meaning: """
                the columns trajectory, chain, sampler (the words l2hmc or hmc), accept_prob, accepted (0 or 1), energy_change, \
                log_det, then \(layout.observables.flatMap(\.csvColumns).joined(separator: ", ")): the values of the .npy files \
                below, numbers with 17 significant digits (integer observables as integers)
                """),
            Entry(file: "sampler.npy", shape: "[T]", dtype: "uint8", units: "code", meaning: """
                which proposal trajectory t used, for all chains: 0 = L2HMC (the model's learned leapfrog), 1 = HMC (plain \
                leapfrog with hmc_eps and hmc_nlf)
                """),
            Entry(file: "accept_prob.npy", shape: "[T, C]", dtype: "float64", units: "probability in [0, 1]", meaning: """
                the Metropolis-Hastings acceptance probability min(1, exp(-energy_change + log_det)); 0 when H' or the log-det \
                is not finite. Its mean over chains is the acceptance the console prints
                """),
            Entry(file: "accepted.npy", shape: "[T, C]", dtype: "bool (numpy |b1, one byte)", units: "flag", meaning: """
                1 = the proposal was accepted (the chain moved to it), 0 = rejected (the chain kept its state)
                """),
            Entry(file: "energy_before.npy", shape: "[T, C]", dtype: "float64", units: "dimensionless (natural units of the action)", meaning: """
                H = U(x) + |v|^2 / 2 at the start of trajectory t, after the momentum v ~ N(0, I) was drawn; U is the target's \
                action (\(actionMeaning(target)))
                """),
            Entry(file: "energy_change.npy", shape: "[T, C]", dtype: "float64", units: "dimensionless (as energy_before)", meaning: """
                dH = H' - H of the proposal (x', v') of trajectory t, computed before the accept/reject decision (also for \
                rejected proposals; may be inf or nan for a diverging proposal)
                """),
            Entry(file: "log_det.npy", shape: "[T, C]", dtype: "float64", units: "natural logarithm", meaning: """
                log |det d(x', v') / d(x, v)| of the proposal map of trajectory t (the learned scalings of L2HMC; 0 for HMC, \
                whose leapfrog preserves volume)
                """),
        ]
        for o in layout.observables {
            let shape = "[T, C" + o.shape.map { ", \($0)" }.joined() + "]"
            e.append(Entry(file: o.name + ".npy", shape: shape, dtype: o.storage == .int32 ? "int32" : "float64",
                           units: o.meaning == nil ? "those of the target" : "see meaning",
                           meaning: (o.meaning ?? "the observable \(o.name) the target records") + "; measured on each chain's state after trajectory t (accepted or not)"))
        }
        e += [
            Entry(file: "summary.json", shape: "-", dtype: "JSON object", units: "those of each quantity", meaning: """
                the statistics, written when the run ends (also when interrupted): for each quantity (name), its mean, error \
                (corrected by the integrated autocorrelation time tau_int, Sokal window c = 5), tau_int, window, exact value and \
                z-score when known, z_threshold and z_flagged (the quantities whose |z| exceeds it) with z_warning (the warning \
                naming them and the likely cause), the equilibration check (first and second half), acceptance per sampler, \
                <exp(-dH + log_det)> (mean_boltzmann_factor, 1 for an exact kernel), trajectories dropped and used, \
                trajectories_done, interrupted and seconds
                """),
            Entry(file: "final_states.npy", shape: "[C, n]", dtype: "float64", units: stateUnits(target), meaning: """
                the chain states when the run ended (also when interrupted; \(stateMeaning(target)))
                """),
        ]
        if case let .u1(l)? = target {
            e.append(Entry(file: "ensemble.h5", shape: "configs [n_saved, C, n], trajectory [n_saved]", dtype: "HDF5 (configs float64, trajectory int64)", units: "radians", meaning: """
                present only with --save-configs EVERY: the link configurations of all chains after every EVERY-th \
                trajectory (trajectory holds the 1-based trajectory of each row: EVERY, 2 EVERY, ...), flattened \
                \(l.linkLayout.rawValue) as in the states files; root attributes format "l2hmc-ensemble", lt, lx, beta, \
                link_layout, seed, every, chains, model; read it with h5py, measure it with `l2hmc-run measure`
                """))
        }
        e += [
            Entry(file: "report.html", shape: "-", dtype: "HTML text (UTF-8, self-contained: inline CSS and SVG, no script)", units: "-", meaning: """
                present only after `l2hmc-run report DIR`: plots and tables of this directory's files (parameters, Q_int \
                history and histogram, plaquette history, acceptance and dH, autocorrelations, the summary), made from them \
                alone and replaced by the next report
                """),
        ]
        return e
    }

    /// The README text.
    public static func text(layout: RunDirectory.Layout, chains: Int, stateSize: Int, target: Target?) -> String {
        var lines = [
            "l2hmc-run run directory (\(RunDirectory.stateFormat))",
            "",
            "Written by l2hmc-run when the directory was created. Every file the run writes here is described below.",
            "Symbols: T = trajectories committed (trajectory_index in state.json), C = \(chains) chains, n = \(stateSize) state values per chain.",
            "The .npy files are NumPy arrays (little-endian), readable with numpy.load; the first axis of a record is the",
            "trajectory t = 0, ..., T-1 and the second the chain c. Each block: file, shape, dtype, units, meaning.",
        ]
        for entry in entries(layout: layout, target: target) {
            lines += ["", "file: \(entry.file)", "shape: \(entry.shape)", "dtype: \(entry.dtype)", "units: \(entry.units)", "meaning: \(entry.meaning)"]
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes the README into `directory` unless a file of that name is there (never replaced).
    public static func writeIfMissing(in directory: String, layout: RunDirectory.Layout, chains: Int, stateSize: Int, target: Target?) throws {
        let path = "\(directory)/\(fileName)"
        guard !FileManager.default.fileExists(atPath: path) else { return }
        let bytes = Array(text(layout: layout, chains: chains, stateSize: stateSize, target: target).utf8)
        do { try AtomicFile.write(bytes, to: path) } catch { throw InferenceError.io(path: path, reason: "\(error)") }
    }

    private static func stateUnits(_ target: Target?) -> String {
        switch target {
        case .u1?: return "radians"
        case .gaussianMixture?: return "the units of the mixture's means"
        case nil: return "those of the target"
        }
    }

    private static func stateMeaning(_ target: Target?) -> String {
        switch target {
        case let .u1(l)?:
            let order = l.linkLayout == .tXMu ? "index ((t * Lx) + x) * 2 + mu" : "index (mu * Lt + t) * Lx + x"
            return "the n = 2 Lt Lx = \(2 * l.lt * l.lx) link angles x_mu(t, x) of the \(l.lt)x\(l.lx) lattice in [-pi, pi), flattened \(l.linkLayout.rawValue): \(order)"
        case let .gaussianMixture(g)?:
            return "each row is the chain's point x in R^\(g.dimension)"
        case nil:
            return "each row is one chain's state"
        }
    }

    private static func actionMeaning(_ target: Target?) -> String {
        switch target {
        case let .u1(l)?:
            return "the Wilson action U = beta sum_P (1 - cos phi_P), beta \(ModelDescription.formatNumber(l.beta))"
        case .gaussianMixture?:
            return "U(x) = -log sum_m w_m N(x; mu_m, Sigma_m)"
        case nil:
            return "the target's action"
        }
    }
}

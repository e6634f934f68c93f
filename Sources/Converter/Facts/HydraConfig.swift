import Foundation
import ModelFormat
import Yams

/// The hydra `config.yaml` an upstream PyTorch L2HMC run writes (`<run>/.hydra/config.yaml`),
/// given to the converter with `--config`: the facts it states (docs/CONVERT.md, "PyTorch L2HMC
/// checkpoints"). Weight files never carry these, so without the config they must be given.
///
/// Read (each with origin `the file (config.yaml: <key>)`):
///
/// | key | fact |
/// |---|---|
/// | `dynamics.latvolume` [Nt, Nx] | lattice |
/// | `dynamics.nleapfrog` | n_lf |
/// | `dynamics.use_ncp` | x_update (`ncp` / `linear`) |
/// | `dynamics.use_separate_networks` | layout (`per_step` / `shared`) |
/// | `dynamics.use_split_xnets` | x_networks_per_step (2 when also per-step, else 1) |
/// | `network.activation_fn` | activation |
/// | `network.units` | hidden_units |
/// | `network.use_batch_norm` | batch norm present (checked against the weights) |
/// | `annealing_schedule.beta_final` | beta (the coupling training ended at) |
/// | `net_weights.{x,v}.{s,t,q}` | net_weights |
///
/// Refused (`convert.unsupported_source`): a non-empty `conv.filters` (a convolution stack),
/// `dynamics.group` other than `U1`, `framework` other than `pytorch`, an activation the
/// format does not have (`elu`), YAML anchors or aliases (a config never uses them; refusing them
/// rules out alias bombs), more than ``maxBytes``. `dynamics.eps` is the initial step size (the
/// trained ones are in the weights) and is not read.
enum HydraConfig {
    static let maxBytes = 1 << 20

    static func isYAML(_ path: String) -> Bool {
        let p = path.lowercased()
        return p.hasSuffix(".yaml") || p.hasSuffix(".yml")
    }

    static func statements(path: String) throws -> FileStatements {
        let bytes: [UInt8]
        do { bytes = try AtomicFile.read(path, limit: maxBytes) } catch {
            throw ConvertError.invalidFact(fact: "config", value: path, expected: "a readable YAML file of at most 1 MiB (\(error))")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ConvertError.invalidFact(fact: "config", value: path, expected: "UTF-8 YAML")
        }
        return try statements(yaml: text, name: URL(fileURLWithPath: path).lastPathComponent, path: path)
    }

    static func statements(yaml text: String, name: String, path: String) throws -> FileStatements {
        func refuse(_ reason: String) -> ConvertError { .unsupportedSource(path: path, reason: reason) }
        if let line = anchorLine(text) {
            throw refuse("its YAML uses an anchor or alias (line \(line)); a hydra config has none, and they are refused")
        }
        let root: Any?
        do { root = try Yams.load(yaml: text) } catch {
            throw ConvertError.invalidFact(fact: "config", value: path, expected: "YAML (\(String(describing: error).prefix(200)))")
        }
        guard let config = root as? [String: Any] else {
            throw ConvertError.invalidFact(fact: "config", value: path, expected: "a YAML mapping (a hydra config.yaml)")
        }
        func value(_ dotted: String) -> Any? {
            var node: Any? = config
            for part in dotted.split(separator: ".") { node = (node as? [String: Any])?[String(part)] }
            return node is NSNull ? nil : node
        }
        guard value("dynamics") != nil || value("network") != nil else {
            throw ConvertError.invalidFact(fact: "config", value: path, expected: "a hydra config of an L2HMC run (with dynamics and network groups)")
        }
        if let framework = value("framework") as? String, framework != "pytorch" {
            throw refuse("its config is of a \(framework) run; this reads the PyTorch side (for TensorFlow use the Keras weights with --preset head-2022)")
        }
        if let group = value("dynamics.group") as? String, group != "U1" {
            throw refuse("its config says dynamics.group \(group); only U(1) is supported")
        }
        if let filters = value("conv.filters") as? [Any], !filters.isEmpty {
            throw refuse("its config has a convolution stack (conv.filters \(filters)); convolutional networks are not in the format yet: convert a model trained with conv: none")
        }
        var s = FileStatements()
        func origin(_ key: String) -> String { "the file (\(name): \(key))" }
        func int(_ v: Any?) -> Int? { v as? Int }
        func bool(_ v: Any?) -> Bool? { v as? Bool }
        func number(_ v: Any?) -> Double? { (v as? Double) ?? (v as? Int).map(Double.init) }
        if let lat = value("dynamics.latvolume") as? [Any], lat.count == 2, let nt = int(lat[0]), let nx = int(lat[1]) {
            try s.state(.lattice, "\(nt)x\(nx)", origin: origin("dynamics.latvolume"))
        }
        if let n = int(value("dynamics.nleapfrog")) { try s.state(.nLF, "\(n)", origin: origin("dynamics.nleapfrog")) }
        if let ncp = bool(value("dynamics.use_ncp")) { try s.state(.xUpdate, ncp ? "ncp" : "linear", origin: origin("dynamics.use_ncp")) }
        let separate = bool(value("dynamics.use_separate_networks"))
        if let separate { try s.state(.layout, separate ? "per_step" : "shared", origin: origin("dynamics.use_separate_networks")) }
        if let split = bool(value("dynamics.use_split_xnets")), let separate {
            // Upstream uses one x-network for both halves unless the networks are per step and split.
            try s.state(.xNetworksPerStep, split && separate ? "2" : "1", origin: origin("dynamics.use_split_xnets"))
        }
        if let act = value("network.activation_fn") as? String {
            guard Activation(rawValue: act) != nil else {
                throw refuse("its config says network.activation_fn \(act.debugDescription), which the format does not have (\(Activation.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            try s.state(.activation, act, origin: origin("network.activation_fn"))
        }
        if let units = value("network.units") as? [Any] {
            let widths = units.compactMap(int)
            if widths.count == units.count, !widths.isEmpty {
                try s.state(.hiddenUnits, widths.map(String.init).joined(separator: ","), origin: origin("network.units"))
            }
        }
        if let bn = bool(value("network.use_batch_norm")) { s.batchNorm = (bn, origin("network.use_batch_norm")) }
        if let beta = number(value("annealing_schedule.beta_final")) {
            try s.state(.beta, "\(beta)", origin: origin("annealing_schedule.beta_final"))
        }
        let weights = ["x.s", "x.t", "x.q", "v.s", "v.t", "v.q"].map { number(value("net_weights." + $0)) }
        if weights.allSatisfy({ $0 != nil }) {
            try s.state(.netWeights, weights.compactMap { $0.map { "\($0)" } }.joined(separator: ","), origin: origin("net_weights"))
        }
        return s
    }

    /// The first line holding a YAML anchor (`&name`) or alias (`*name`) as a node, outside
    /// quotes and comments, or nil.
    static func anchorLine(_ text: String) -> Int? {
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var quote: Character?
            var previous: Character = " "
            for c in line {
                if let q = quote { if c == q { quote = nil }; previous = c; continue }
                if c == "#" && (previous == " " || previous == "\t") { break }
                if c == "\"" || c == "'" { if previous == " " || previous == ":" || previous == "-" || previous == "[" || previous == "," { quote = c } }
                if (c == "&" || c == "*") && (previous == " " || previous == "-" || previous == "[" || previous == "," || previous == "{") { return i + 1 }
                previous = c
            }
        }
        return nil
    }
}

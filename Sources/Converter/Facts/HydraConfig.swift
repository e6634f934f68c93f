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
/// `conv.filters`, `conv.sizes`, `conv.pool` (the convolution stack; absent sizes or pools are
/// upstream's default 2 each) are kept for ``TorchConvStack`` and checked against the weights.
///
/// Refused (`convert.unsupported_source`): `dynamics.group` other than `U1`, `framework` other than `pytorch`, an activation the
/// format does not have (`elu`), YAML anchors or aliases (a config never uses them; refusing them
/// rules out alias bombs), nesting deeper than ``maxDepth`` (a config is 3 levels deep; the YAML
/// library builds nodes recursively, so a nesting bomb would overflow the stack), more than
/// ``maxBytes``. A key of the table present with a value of another type (`nleapfrog: 2.5`,
/// `units: [8, 8.5]`) is `convert.invalid_fact`: skipping it would let a preset's value stand
/// where the file says otherwise. `dynamics.eps` is the initial step size (the trained ones are
/// in the weights) and is not read.
enum HydraConfig {
    static let maxBytes = 1 << 20
    /// Nesting levels (flow brackets, or block indentation and `-`/`?` indicators) accepted.
    static let maxDepth = 64

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
        if let line = deepLine(text) {
            throw ConvertError.invalidFact(fact: "config", value: path, expected: "YAML nested at most \(maxDepth) levels deep (line \(line) is deeper; a hydra config is 3 levels deep)")
        }
        let root: Any?
        do { root = try Yams.compose(yaml: text).map { try plain($0, path: path) } } catch let e as ConvertError { throw e } catch {
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
        var s = FileStatements()
        func origin(_ key: String) -> String { "the file (\(name): \(key))" }
        /// The value at `key` converted by `read`; nil when absent (or null); a value present
        /// that `read` does not accept is refused.
        func typed<T>(_ key: String, _ expected: String, _ read: (Any) -> T?) throws -> T? {
            guard let v = value(key) else { return nil }
            guard let t = read(v) else {
                throw ConvertError.invalidFact(fact: "config", value: "\(path) (\(key): \(String(describing: v).prefix(60)))", expected: expected)
            }
            return t
        }
        func int(_ key: String) throws -> Int? { try typed(key, "an integer", { $0 as? Int }) }
        func bool(_ key: String) throws -> Bool? { try typed(key, "true or false", { $0 as? Bool }) }
        func number(_ key: String) throws -> Double? { try typed(key, "a number", { ($0 as? Double) ?? ($0 as? Int).map(Double.init) }) }
        func ints(_ key: String, count: Int?) throws -> [Int]? {
            try typed(key, "a list of \(count.map(String.init) ?? "one or more") integers", { v in
                guard let list = v as? [Any], !list.isEmpty, count == nil || list.count == count else { return nil }
                let values = list.compactMap { $0 as? Int }
                return values.count == list.count ? values : nil
            })
        }
        if let lat = try ints("dynamics.latvolume", count: 2) {
            try s.state(.lattice, "\(lat[0])x\(lat[1])", origin: origin("dynamics.latvolume"))
        }
        if let n = try int("dynamics.nleapfrog") { try s.state(.nLF, "\(n)", origin: origin("dynamics.nleapfrog")) }
        if let ncp = try bool("dynamics.use_ncp") { try s.state(.xUpdate, ncp ? "ncp" : "linear", origin: origin("dynamics.use_ncp")) }
        let separate = try bool("dynamics.use_separate_networks")
        if let separate { try s.state(.layout, separate ? "per_step" : "shared", origin: origin("dynamics.use_separate_networks")) }
        if let split = try bool("dynamics.use_split_xnets"), let separate {
            // Upstream uses one x-network for both halves unless the networks are per step and split.
            try s.state(.xNetworksPerStep, split && separate ? "2" : "1", origin: origin("dynamics.use_split_xnets"))
        }
        if let act = try typed("network.activation_fn", "an activation name", { $0 as? String }) {
            guard Activation(rawValue: act) != nil else {
                throw refuse("its config says network.activation_fn \(act.debugDescription), which the format does not have (\(Activation.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            try s.state(.activation, act, origin: origin("network.activation_fn"))
        }
        if let widths = try ints("network.units", count: nil) {
            try s.state(.hiddenUnits, widths.map(String.init).joined(separator: ","), origin: origin("network.units"))
        }
        if let bn = try bool("network.use_batch_norm") { s.batchNorm = (bn, origin("network.use_batch_norm")) }
        // conv: filters (a list, possibly empty); sizes and pool as long, or absent for 2 each.
        func list(_ key: String) throws -> [Int]? {
            try typed(key, "a list of integers >= 1", { v in
                guard let l = v as? [Any] else { return nil }
                let values = l.compactMap { $0 as? Int }
                return values.count == l.count && values.allSatisfy({ $0 >= 1 }) ? values : nil
            })
        }
        if let filters = try list("conv.filters") {
            let sizes = try list("conv.sizes") ?? [Int](repeating: 2, count: filters.count)
            let pool = try list("conv.pool") ?? [Int](repeating: 2, count: filters.count)
            s.convStack = TorchConvStack.Config(filters: filters, sizes: filters.isEmpty ? [] : sizes, pool: filters.isEmpty ? [] : pool, origin: origin("conv"))
        }
        if let beta = try number("annealing_schedule.beta_final") {
            try s.state(.beta, "\(beta)", origin: origin("annealing_schedule.beta_final"))
        }
        let weights = try ["x.s", "x.t", "x.q", "v.s", "v.t", "v.q"].map { try number("net_weights." + $0) }
        if weights.allSatisfy({ $0 != nil }) {
            try s.state(.netWeights, weights.compactMap { $0.map { "\($0)" } }.joined(separator: ","), origin: origin("net_weights"))
        }
        return s
    }

    /// A composed YAML node as plain values (`[String: Any]`, `[Any]`, `Int`, `Double`, `Bool`,
    /// `NSNull`, `String` for every other scalar, e.g. an integer too large for Int). Not
    /// `Yams.load`: its constructor force-unwraps a mapping key that is not a scalar
    /// (`[a]: b`, `? {a: 1}`) and crashes. Such a key, and a key given twice, are refused.
    static func plain(_ node: Node, path: String) throws -> Any {
        switch node {
        case let .scalar(scalar):
            // Quoted or block scalars are strings; a plain one is null, a bool, an int or a
            // float when it reads as one (the YAML core schema, as Yams resolves it).
            guard scalar.style == .plain || scalar.style == .any else { return scalar.string }
            if let v = node.null { return v }
            if let v = node.bool { return v }
            if let v = node.int { return v }
            if let v = node.float { return v }
            return scalar.string
        case let .sequence(sequence):
            return try sequence.map { try plain($0, path: path) }
        case let .mapping(mapping):
            var out: [String: Any] = [:]
            for (key, value) in mapping {
                guard case let .scalar(k) = key else {
                    throw ConvertError.invalidFact(fact: "config", value: path, expected: "a YAML mapping with plain keys (a key is a \(key.mapping != nil ? "mapping" : "sequence"))")
                }
                guard out[k.string] == nil else {
                    throw ConvertError.invalidFact(fact: "config", value: path, expected: "a YAML mapping without repeated keys (\(k.string.debugDescription) is given twice)")
                }
                out[k.string] = try plain(value, path: path)
            }
            return out
        }
    }

    /// The first line nested deeper than ``maxDepth`` levels, or nil: open flow brackets (`[`,
    /// `{` outside quotes and comments, carried across lines) plus, on a line outside brackets,
    /// its indentation and the `- ` / `? ` indicators that start it (each indicator or column of
    /// indentation counts as one level, an over-count that keeps the bound simple).
    static func deepLine(_ text: String) -> Int? {
        var flow = 0
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var block = 0
            if flow == 0 {
                var rest = line[...]
                while let c = rest.first, c == " " || c == "\t" || ((c == "-" || c == "?") && (rest.dropFirst().first.map { $0 == " " || $0 == "\t" } ?? true)) {
                    block += 1
                    rest = rest.dropFirst()
                }
            }
            var quote: Character?
            var previous: Character = " "
            for c in line {
                if let q = quote { if c == q { quote = nil }; previous = c; continue }
                if c == "#" && (previous == " " || previous == "\t") { break }
                if c == "\"" || c == "'" { if previous == " " || previous == ":" || previous == "-" || previous == "[" || previous == "," || previous == "{" { quote = c } }
                if c == "[" || c == "{" { flow += 1 }
                if (c == "]" || c == "}") && flow > 0 { flow -= 1 }
                if flow + block > maxDepth { return i + 1 }
                previous = c
            }
            if block > maxDepth { return i + 1 }
        }
        return nil
    }

    /// The first line holding a YAML anchor (`&name`) or alias (`*name`) as a node, outside
    /// quotes and comments, or nil. Only where a node starts: at the start of a line's content,
    /// after `: `, `- `, `? `, or after `[`, `{`, `,` inside flow brackets; an `&` or `*` inside
    /// a plain scalar (`note: rock & roll`, `expr: 2 * 3`) is text.
    static func anchorLine(_ text: String) -> Int? {
        var flow = 0
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var quote: Character?
            var previous: Character = " "
            var nodeStart = true
            for c in line {
                if let q = quote { if c == q { quote = nil }; previous = c; continue }
                if c == " " || c == "\t" {
                    if previous == ":" || previous == "-" || previous == "?" { nodeStart = true }
                    previous = c
                    continue
                }
                if c == "#" && (previous == " " || previous == "\t") { break }
                if (c == "&" || c == "*") && nodeStart { return i + 1 }
                if c == "\"" || c == "'" { if nodeStart { quote = c } }
                switch c {
                case "[", "{": flow += 1; nodeStart = true
                case "]", "}": flow = max(0, flow - 1); nodeStart = false
                case ",": nodeStart = flow > 0
                default: nodeStart = false   // `:`, `-`, `?` start a node only when a space follows
                }
                previous = c
            }
        }
        return nil
    }
}

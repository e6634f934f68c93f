import ArgumentParser
import CLISupport
import Trainer

/// One command-line option per configuration key, generated from ``TrainingConfig/keyTable``:
/// `--nlf 5`, `--hidden-units 64,64`, ... (hidden older spellings such as `--n-lf` still work).
/// Their help (meaning, allowed values, default) is in the command's discussion
/// (``TrainingConfig/keyHelp``).
struct ConfigFlags: ParsableArguments {
    @Argument(parsing: .allUnrecognized, help: .hidden)
    var arguments: [String] = []

    /// Every accepted spelling to its key.
    static let spellings: [String: String] = {
        var map: [String: String] = [:]
        for k in TrainingConfig.keyTable {
            map[k.flag] = k.name
            for h in k.hiddenFlags { map[h] = k.name }
        }
        return map
    }()

    /// An unknown flag or a missing value is a usage error (exit 64) before anything runs.
    func validate() throws {
        do { _ = try given() } catch let e as UsageError { throw ValidationError(e.message) }
    }

    /// (key, value) for every flag given, in the documented key order.
    func given() throws -> [(key: String, text: String)] {
        try KeyFlags.parse(arguments, spellings: Self.spellings, keyOrder: TrainingConfig.keys)
    }

    /// The flags that `--resume` refuses (all but those that may extend the run).
    func refusedOnResume() throws -> [String] {
        try given().filter { g in !(TrainingConfig.key(named: g.key)?.allowedOnResume ?? false) }.map(\.key)
    }

    /// The text given for `key`, if any.
    func text(of key: String) throws -> String? { try given().first { $0.key == key }?.text }

    /// `--help` text: every key with its meaning, allowed values and default.
    static let help = "Configuration keys (also JSON keys of --config, with _ for -):\n" + TrainingConfig.keyHelp
}

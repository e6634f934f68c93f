import XCTest
import ModelFormat
@testable import Trainer

/// The key table of `TrainingConfig` (one declaration per key) against an independent,
/// hand-written list: every key's default (as docs/TRAINING.md states it), a non-default value
/// through JSON and through its command-line text, and the typed field it must land in (read
/// here directly, not through the table), so a key wired to the wrong field fails.
final class TrainingConfigKeyTests: XCTestCase {
    private struct Case {
        let key: String
        let defaultValue: JSONValue
        let example: JSONValue
        let flagText: String
        let field: (TrainingConfig) -> JSONValue
    }

    private static func d(_ x: Double) -> JSONValue { .double(x) }
    private static func i(_ x: Int) -> JSONValue { .int(Int64(x)) }
    private static func s(_ x: String) -> JSONValue { .string(x) }

    private let cases: [Case] = [
        Case(key: "target", defaultValue: s("u1"), example: s("gmm"), flagText: "gmm", field: { s($0.target.rawValue) }),
        Case(key: "lattice", defaultValue: .array([i(8), i(8)]), example: .array([i(4), i(6)]), flagText: "4x6", field: { .array($0.lattice.map(i)) }),
        Case(key: "beta_init", defaultValue: d(2), example: d(1.5), flagText: "1.5", field: { d($0.betaInit) }),
        Case(key: "beta_final", defaultValue: d(4), example: d(3.25), flagText: "3.25", field: { d($0.betaFinal) }),
        Case(key: "mixture_means", defaultValue: .array([.array([d(-2), d(0)]), .array([d(2), d(0)])]),
             example: .array([.array([d(1), d(2), d(3)])]), flagText: "[[1, 2, 3]]", field: { .array($0.mixtureMeans.map { .array($0.map(d)) }) }),
        Case(key: "mixture_variance", defaultValue: d(0.1), example: d(0.5), flagText: "0.5", field: { d($0.mixtureVariance) }),
        Case(key: "mixture_weights", defaultValue: .array([d(0.5), d(0.5)]), example: .array([d(0.25), d(0.75)]), flagText: "0.25,0.75",
             field: { .array($0.mixtureWeights.map(d)) }),
        Case(key: "temperature_init", defaultValue: d(10), example: d(7), flagText: "7", field: { d($0.temperatureInit) }),
        Case(key: "temperature_final", defaultValue: d(1), example: d(2), flagText: "2", field: { d($0.temperatureFinal) }),
        Case(key: "n_lf", defaultValue: i(4), example: i(7), flagText: "7", field: { i($0.nLF) }),
        Case(key: "eps_init", defaultValue: d(0.1), example: d(0.05), flagText: "0.05", field: { d($0.epsInit) }),
        Case(key: "network_kind", defaultValue: s("dense"), example: s("local"), flagText: "local", field: { s($0.networkKind.rawValue) }),
        Case(key: "hidden_units", defaultValue: .array([i(64), i(64)]), example: .array([i(8), i(16), i(4)]), flagText: "8,16,4",
             field: { .array($0.hiddenUnits.map(i)) }),
        Case(key: "kernel_size", defaultValue: i(3), example: i(5), flagText: "5", field: { i($0.kernelSize) }),
        Case(key: "channels", defaultValue: .array([i(16), i(16)]), example: .array([i(8), i(4)]), flagText: "8,4",
             field: { .array($0.channels.map(i)) }),
        Case(key: "activation", defaultValue: s("relu"), example: s("tanh"), flagText: "tanh", field: { s($0.activation.rawValue) }),
        Case(key: "layout", defaultValue: s("shared"), example: s("per_step"), flagText: "per_step", field: { s($0.layout.rawValue) }),
        Case(key: "x_networks_per_step", defaultValue: i(1), example: i(2), flagText: "2", field: { i($0.xNetworksPerStep) }),
        Case(key: "x_input", defaultValue: s("cos_sin_blocks"), example: s("raw"), flagText: "raw", field: { s($0.xInput.rawValue) }),
        Case(key: "mask_placement", defaultValue: s("before_trig"), example: s("after_trig"), flagText: "after_trig", field: { s($0.maskPlacement.rawValue) }),
        Case(key: "time_input", defaultValue: .bool(true), example: .bool(false), flagText: "false", field: { .bool($0.timeInput) }),
        Case(key: "x_update", defaultValue: .null, example: s("linear"), flagText: "linear", field: { $0.xUpdate.map { s($0.rawValue) } ?? .null }),
        Case(key: "translation_sign", defaultValue: i(1), example: i(-1), flagText: "-1", field: { i($0.translationSign.rawValue) }),
        Case(key: "x_scale", defaultValue: .bool(true), example: .bool(false), flagText: "false", field: { .bool($0.xScale) }),
        Case(key: "kernel_scale", defaultValue: d(1), example: d(0.3), flagText: "0.3", field: { d($0.kernelScale) }),
        Case(key: "chains", defaultValue: i(64), example: i(12), flagText: "12", field: { i($0.chains) }),
        Case(key: "tile", defaultValue: i(16), example: i(5), flagText: "5", field: { i($0.tile) }),
        Case(key: "steps", defaultValue: i(1000), example: i(33), flagText: "33", field: { i($0.steps) }),
        Case(key: "seed", defaultValue: i(1), example: i(99), flagText: "99", field: { .int(Int64($0.seed)) }),
        Case(key: "learning_rate", defaultValue: d(1e-3), example: d(0.02), flagText: "0.02", field: { d($0.learningRate) }),
        Case(key: "learning_rate_decay", defaultValue: d(0.96), example: d(0.5), flagText: "0.5", field: { d($0.learningRateDecay) }),
        Case(key: "learning_rate_decay_steps", defaultValue: i(500), example: i(20), flagText: "20", field: { i($0.learningRateDecaySteps) }),
        Case(key: "clip_norm", defaultValue: d(100), example: d(5), flagText: "5", field: { d($0.clipNorm) }),
        Case(key: "lambda", defaultValue: d(1), example: d(2.5), flagText: "2.5", field: { d($0.loss.lambda) }),
        Case(key: "esjd_weight", defaultValue: d(1), example: d(0.75), flagText: "0.75", field: { d($0.loss.esjdWeight) }),
        Case(key: "plaquette_weight", defaultValue: d(0), example: d(0.125), flagText: "0.125", field: { d($0.loss.plaquetteWeight) }),
        Case(key: "lambda_plaquette", defaultValue: d(1), example: d(3), flagText: "3", field: { d($0.loss.lambdaPlaquette) }),
        Case(key: "charge_weight", defaultValue: d(0), example: d(0.2), flagText: "0.2", field: { d($0.loss.chargeWeight) }),
        Case(key: "lambda_charge", defaultValue: d(1), example: d(4), flagText: "4", field: { d($0.loss.lambdaCharge) }),
        Case(key: "acceptance_weight", defaultValue: d(0), example: d(0.25), flagText: "0.25", field: { d($0.loss.acceptanceWeight) }),
        Case(key: "aux_weight", defaultValue: d(0), example: d(0.6), flagText: "0.6", field: { d($0.loss.auxWeight) }),
        Case(key: "checkpoint_every", defaultValue: i(0), example: i(9), flagText: "9", field: { i($0.checkpointEvery) }),
        Case(key: "checkpoint_seconds", defaultValue: d(120), example: d(30), flagText: "30", field: { d($0.checkpointSeconds) }),
        Case(key: "log_every", defaultValue: i(10), example: i(3), flagText: "3", field: { i($0.logEvery) }),
        Case(key: "threads", defaultValue: .null, example: i(3), flagText: "3", field: { $0.threads.map(i) ?? .null }),
    ]

    func testTheTableHasExactlyTheDocumentedKeysInOrder() {
        XCTAssertEqual(TrainingConfig.keys, cases.map(\.key))
        XCTAssertEqual(Set(TrainingConfig.keyTable.map(\.flag)).count, TrainingConfig.keyTable.count, "flags are distinct")
        XCTAssertEqual(TrainingConfig.keyTable.filter(\.allowedOnResume).map(\.name), ["steps", "threads"], "--resume refuses every key but steps and threads")
        XCTAssertEqual(TrainingConfig.keyTable.filter { !$0.recorded }.map(\.name), ["threads"], "only threads stays out of checkpoints and models")
    }

    func testEveryKeyRoundTripsThroughJSONAndItsFlagText() throws {
        let defaults = TrainingConfig()
        guard case let .object(defaultJSON) = defaults.json() else { return XCTFail("json() is an object") }
        XCTAssertEqual(defaultJSON.count, cases.count)
        for c in cases {
            XCTAssertEqual(defaultJSON[c.key], c.defaultValue, "\(c.key): default")
            XCTAssertEqual(c.field(defaults), c.defaultValue, "\(c.key): default field")
            XCTAssertEqual(TrainingConfig.key(named: c.key)?.defaultValue, c.defaultValue, "\(c.key): table default")
            XCTAssertNotEqual(c.example, c.defaultValue, "\(c.key): the example must differ from the default")

            // JSON -> config -> JSON; only this key changed, and in its own field.
            let file = try CanonicalJSONWriter.encode(.object([c.key: c.example]))
            let fromJSON = try TrainingConfig(jsonBytes: file)
            XCTAssertEqual(c.field(fromJSON), c.example, "\(c.key): JSON lands in the wrong field")
            guard case let .object(out) = fromJSON.json() else { return XCTFail() }
            for other in cases where other.key != c.key {
                XCTAssertEqual(out[other.key], other.defaultValue, "setting \(c.key) changed \(other.key)")
            }
            XCTAssertEqual(out[c.key], c.example, "\(c.key): JSON round trip")
            XCTAssertEqual(try TrainingConfig(jsonBytes: try CanonicalJSONWriter.encode(fromJSON.json())), fromJSON, "\(c.key): written JSON reads back")

            // Flag text -> config.
            var fromFlag = TrainingConfig()
            try fromFlag.set(c.key, text: c.flagText)
            XCTAssertEqual(c.field(fromFlag), c.example, "\(c.key): flag text \(c.flagText)")
            XCTAssertEqual(fromFlag, fromJSON, "\(c.key): flag and JSON give the same configuration")
        }
    }

    /// `threads` never enters the recorded configuration (checkpoint, model provenance), whatever
    /// its value; "auto" and null both mean the default; counts outside 1...tiles are refused.
    func testThreadsIsAnUnrecordedExecutionSetting() throws {
        var c = TrainingConfig()
        c.chains = 40; c.tile = 16  // 3 tiles: 16, 16, 8
        XCTAssertEqual(c.tiling.count, 3); XCTAssertEqual(c.tiling.rows(2), 32..<40)
        try c.set("threads", text: "3")
        XCTAssertEqual(c.threads, 3); XCTAssertNoThrow(try c.validate())
        guard case let .object(recorded) = c.recordedJSON(), case let .object(all) = c.json() else { return XCTFail() }
        XCTAssertNil(recorded["threads"]); XCTAssertEqual(all["threads"], .int(3)); XCTAssertEqual(recorded.count, all.count - 1)
        try c.set("threads", text: "auto")
        XCTAssertNil(c.threads)
        XCTAssertTrue((1...3).contains(c.effectiveThreads), "auto is at most the tile count")
        for bad in ["0", "4", "-1"] {
            var d = c
            try d.set("threads", text: bad)
            XCTAssertThrowsError(try d.validate()) { XCTAssertTrue("\($0)".hasPrefix("[train.invalid_config] threads: must be"), "\($0)") }
        }
        var t = c
        t.tile = 0
        XCTAssertThrowsError(try t.validate()) { XCTAssertTrue("\($0)".contains("tile: must be in 1..."), "\($0)") }
    }

    func testWrongTypesAndUnknownKeysNameTheKey() {
        var c = TrainingConfig()
        XCTAssertThrowsError(try c.set("n_lf", .string("four"))) { XCTAssertEqual("\($0)", "[train.invalid_config] n_lf: must be an integer (got \"four\")") }
        XCTAssertThrowsError(try c.set("lattice", .string("8x"))) { XCTAssertTrue("\($0)".contains("lattice: must be [lt, lx] or \"LTxLX\""), "\($0)") }
        XCTAssertThrowsError(try c.set("nlf", .int(3))) { XCTAssertTrue("\($0)".contains("nlf: unknown key (known keys: target, lattice,"), "\($0)") }
        XCTAssertEqual(c, TrainingConfig(), "a refused value changes nothing")
    }
}

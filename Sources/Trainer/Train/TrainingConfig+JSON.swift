import Foundation
import ModelFormat

/// JSON form of a training configuration: one flat object whose keys are the snake_case names
/// below (the same names as the `l2hmc-train` flags, with '-' for '_'). Unknown keys, wrong
/// types and out-of-range values are errors naming the key.
extension TrainingConfig {
    /// Every key, in the order they are printed.
    public static let keys: [String] = [
        "target", "lattice", "beta_init", "beta_final", "mixture_means", "mixture_variance", "mixture_weights",
        "temperature_init", "temperature_final", "n_lf", "eps_init", "hidden_units", "activation", "layout",
        "x_networks_per_step", "x_input", "mask_placement", "time_input", "x_update", "translation_sign", "x_scale",
        "kernel_scale", "chains", "steps", "seed", "learning_rate", "learning_rate_decay", "learning_rate_decay_steps",
        "clip_norm", "lambda", "esjd_weight", "plaquette_weight", "lambda_plaquette", "charge_weight", "lambda_charge",
        "aux_weight", "checkpoint_every", "checkpoint_seconds", "log_every",
    ]

    /// Reads a configuration file's bytes over the defaults.
    public init(jsonBytes: [UInt8]) throws {
        self.init()
        let value: JSONValue
        do { value = try StrictJSONParser.parse(jsonBytes) } catch {
            throw Invalid(key: "(file)", reason: "not valid JSON: \(error)")
        }
        guard case let .object(o) = value else { throw Invalid(key: "(file)", reason: "must be a JSON object") }
        for key in o.keys.sorted() { try set(key, o[key]!) }
    }

    /// Sets one key from a command-line text: JSON when it parses ("0.1", "[64, 64]", "true"),
    /// a comma-separated list of numbers ("64,64"), or else a plain string ("u1", "8x8").
    public mutating func set(_ key: String, text: String) throws {
        if let v = try? StrictJSONParser.parse(Array(text.utf8)) { return try set(key, v) }
        let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        if parts.count > 1, parts.allSatisfy({ Double($0) != nil }) {
            return try set(key, .array(parts.map { Int64($0).map { JSONValue.int($0) } ?? .double(Double($0)!) }))
        }
        try set(key, .string(text))
    }

    public mutating func set(_ key: String, _ v: JSONValue) throws {
        func fail(_ expected: String) -> Invalid { Invalid(key: key, reason: "must be \(expected) (got \(describe(v)))") }
        func number() throws -> Double {
            switch v { case let .double(d): return d; case let .int(i): return Double(i); default: throw fail("a number") }
        }
        func int() throws -> Int { guard case let .int(i) = v, let x = Int(exactly: i) else { throw fail("an integer") }; return x }
        func bool() throws -> Bool { guard case let .bool(b) = v else { throw fail("true or false") }; return b }
        func string() throws -> String { guard case let .string(s) = v else { throw fail("a string") }; return s }
        func ints() throws -> [Int] {
            if case let .int(i) = v { return [Int(i)] }
            guard case let .array(a) = v else { throw fail("a list of integers") }
            return try a.map { guard case let .int(i) = $0 else { throw fail("a list of integers") }; return Int(i) }
        }
        func numbers(_ x: JSONValue) throws -> [Double] {
            guard case let .array(a) = x else { throw fail("a list of numbers") }
            return try a.map { switch $0 { case let .double(d): return d; case let .int(i): return Double(i); default: throw fail("a list of numbers") } }
        }
        func choice<E: RawRepresentable & CaseIterable>(_ t: E.Type) throws -> E where E.RawValue == String {
            let s = try string()
            guard let e = E(rawValue: s) else { throw fail("one of \(E.allCases.map(\.rawValue).joined(separator: ", "))") }
            return e
        }
        switch key {
        case "target": target = try choice(TargetKind.self)
        case "lattice":
            if case let .string(s) = v {
                let p = s.lowercased().split(separator: "x").compactMap { Int($0) }
                guard p.count == 2 else { throw fail("[lt, lx] or \"LTxLX\"") }
                lattice = p
            } else { lattice = try ints() }
        case "beta_init": betaInit = try number()
        case "beta_final": betaFinal = try number()
        case "mixture_means":
            guard case let .array(rows) = v else { throw fail("a list of vectors") }
            mixtureMeans = try rows.map { try numbers($0) }
        case "mixture_variance": mixtureVariance = try number()
        case "mixture_weights": mixtureWeights = try numbers(v)
        case "temperature_init": temperatureInit = try number()
        case "temperature_final": temperatureFinal = try number()
        case "n_lf": nLF = try int()
        case "eps_init": epsInit = try number()
        case "hidden_units": hiddenUnits = try ints()
        case "activation": activation = try choice(Activation.self)
        case "layout": layout = try choice(NetworkLayout.self)
        case "x_networks_per_step": xNetworksPerStep = try int()
        case "x_input": xInput = try choice(InputEncoding.self)
        case "mask_placement": maskPlacement = try choice(MaskPlacement.self)
        case "time_input": timeInput = try bool()
        case "x_update": xUpdate = v == .null ? nil : try choice(XUpdateForm.self)
        case "translation_sign":
            guard let s = TranslationSign(rawValue: try int()) else { throw fail("1 or -1") }
            translationSign = s
        case "x_scale": xScale = try bool()
        case "kernel_scale": kernelScale = try number()
        case "chains": chains = try int()
        case "steps": steps = try int()
        case "seed":
            guard case let .int(i) = v, i >= 0 else { throw fail("a non-negative integer") }
            seed = UInt64(i)
        case "learning_rate": learningRate = try number()
        case "learning_rate_decay": learningRateDecay = try number()
        case "learning_rate_decay_steps": learningRateDecaySteps = try int()
        case "clip_norm": clipNorm = try number()
        case "lambda": loss.lambda = try number()
        case "esjd_weight": loss.esjdWeight = try number()
        case "plaquette_weight": loss.plaquetteWeight = try number()
        case "lambda_plaquette": loss.lambdaPlaquette = try number()
        case "charge_weight": loss.chargeWeight = try number()
        case "lambda_charge": loss.lambdaCharge = try number()
        case "aux_weight": loss.auxWeight = try number()
        case "checkpoint_every": checkpointEvery = try int()
        case "checkpoint_seconds": checkpointSeconds = try number()
        case "log_every": logEvery = try int()
        default:
            throw Invalid(key: key, reason: "unknown key (known keys: \(Self.keys.joined(separator: ", ")))")
        }
    }

    /// The configuration as JSON (every key, canonical values).
    public func json() -> JSONValue {
        func d(_ x: Double) -> JSONValue { .double(x) }
        func i(_ x: Int) -> JSONValue { .int(Int64(x)) }
        var o: [String: JSONValue] = [
            "target": .string(target.rawValue), "lattice": .array(lattice.map(i)), "beta_init": d(betaInit), "beta_final": d(betaFinal),
            "mixture_means": .array(mixtureMeans.map { .array($0.map(d)) }), "mixture_variance": d(mixtureVariance),
            "mixture_weights": .array(mixtureWeights.map(d)), "temperature_init": d(temperatureInit), "temperature_final": d(temperatureFinal),
            "n_lf": i(nLF), "eps_init": d(epsInit), "hidden_units": .array(hiddenUnits.map(i)), "activation": .string(activation.rawValue),
            "layout": .string(layout.rawValue), "x_networks_per_step": i(xNetworksPerStep), "x_input": .string(xInput.rawValue),
            "mask_placement": .string(maskPlacement.rawValue), "time_input": .bool(timeInput),
            "translation_sign": i(translationSign.rawValue), "x_scale": .bool(xScale), "kernel_scale": d(kernelScale),
            "chains": i(chains), "steps": i(steps), "seed": .int(Int64(bitPattern: seed)), "learning_rate": d(learningRate),
            "learning_rate_decay": d(learningRateDecay), "learning_rate_decay_steps": i(learningRateDecaySteps), "clip_norm": d(clipNorm),
            "lambda": d(loss.lambda), "esjd_weight": d(loss.esjdWeight), "plaquette_weight": d(loss.plaquetteWeight),
            "lambda_plaquette": d(loss.lambdaPlaquette), "charge_weight": d(loss.chargeWeight), "lambda_charge": d(loss.lambdaCharge),
            "aux_weight": d(loss.auxWeight), "checkpoint_every": i(checkpointEvery),
            "checkpoint_seconds": d(checkpointSeconds), "log_every": i(logEvery),
        ]
        o["x_update"] = xUpdate.map { .string($0.rawValue) } ?? .null
        return .object(o)
    }
}

private func describe(_ v: JSONValue) -> String {
    switch v {
    case let .string(s): return "\"\(s)\""
    case let .int(i): return "\(i)"
    case let .double(d): return "\(d)"
    case let .bool(b): return "\(b)"
    case .null: return "null"
    case .array: return "a list"
    case .object: return "an object"
    }
}

import ModelFormat

extension TrainingConfig {
    /// Every configuration key, in the order they are printed and documented (docs/TRAINING.md).
    /// Ranges are those ``validate()`` enforces.
    public static let keyTable: [TrainingConfigKey] = [
        .choice("target", \.target, meaning: "what is sampled: u1 (2D U(1) lattice gauge theory) or gmm (Gaussian mixture)"),
        TrainingConfigKey("lattice", type: "[lt, lx] or \"LTxLX\"", range: "each side 1...4096", meaning: "U(1) lattice size",
                          read: { .array($0.lattice.map { .int(Int64($0)) }) },
                          write: { c, v in
                              if case let .string(s) = v.value {
                                  guard let size = LatticeSize(parsing: s) else { throw v.fail("[lt, lx] or \"LTxLX\"") }
                                  c.lattice = [size.lt, size.lx]
                              } else { c.lattice = try v.ints() }
                          }),
        .number("beta_init", \.betaInit, range: "> 0", meaning: "U(1) coupling beta at the start: 1/beta(n) goes linearly to 1/beta_final (eq. 49)"),
        .number("beta_final", \.betaFinal, range: ">= beta_init", meaning: "U(1) coupling beta at the end (the model's beta)"),
        TrainingConfigKey("mixture_means", type: "list of vectors", range: "equal-length finite vectors; at most 4096 modes",
                          meaning: "mixture: the component means",
                          read: { .array($0.mixtureMeans.map { .array($0.map { .double($0) }) }) },
                          write: { c, v in
                              guard case let .array(rows) = v.value else { throw v.fail("a list of vectors") }
                              c.mixtureMeans = try rows.map { try v.numbers($0) }
                          }),
        .number("mixture_variance", \.mixtureVariance, range: "> 0", meaning: "mixture: variance of every component's isotropic covariance"),
        TrainingConfigKey("mixture_weights", type: "list of numbers", range: "one per mean, positive, summing to 1",
                          meaning: "mixture: component weights",
                          read: { .array($0.mixtureWeights.map { .double($0) }) },
                          write: { c, v in c.mixtureWeights = try v.numbers(v.value) }),
        .number("temperature_init", \.temperatureInit, range: "> 0, >= temperature_final",
                meaning: "mixture: temperature at the start, going linearly to temperature_final (eq. 41)"),
        .number("temperature_final", \.temperatureFinal, range: "> 0", meaning: "mixture: temperature at the end"),
        .integer("n_lf", \.nLF, flag: "--nlf", hiddenFlags: ["--n-lf"], range: "1...\(maxCount)", meaning: "leapfrog steps per trajectory (N_LF)"),
        .number("eps_init", \.epsInit, range: "> 0", meaning: "initial step size of every x and v update"),
        .choice("network_kind", \.networkKind,
                meaning: "dense (layers over all links; the model runs only at its lattice) or local (periodic convolutions over the sites, heads per link; U(1) only; the model runs at any lattice size)"),
        TrainingConfigKey("hidden_units", type: "list of integers", range: "1 to 64 widths, each 1...\(maxCount)",
                          meaning: "dense networks: hidden layer widths of every network",
                          read: { .array($0.hiddenUnits.map { .int(Int64($0)) }) },
                          write: { c, v in c.hiddenUnits = try v.ints() }),
        .integer("kernel_size", \.kernelSize, range: "odd, 1...\(LocalNetworkRules.maxKernelSize)",
                 meaning: "local networks: side k of every k x k periodic convolution kernel"),
        TrainingConfigKey("channels", type: "list of integers", range: "1 to 64 layers, each 1...\(LocalNetworkRules.maxChannels)",
                          meaning: "local networks: channels per site of each convolution layer",
                          read: { .array($0.channels.map { .int(Int64($0)) }) },
                          write: { c, v in c.channels = try v.ints() }),
        .choice("activation", \.activation, meaning: "hidden activation"),
        .choice("layout", \.layout, meaning: "one network for every leapfrog step (shared) or one per step"),
        .integer("x_networks_per_step", \.xNetworksPerStep, range: "1 or 2", meaning: "x-networks per leapfrog step"),
        .choice("x_input", \.xInput, meaning: "U(1) dense x-network input encoding (local networks read fixed per-site features)"),
        .choice("mask_placement", \.maskPlacement, meaning: "dense networks: mask applied before or after the cos/sin encoding"),
        .boolean("time_input", \.timeInput, meaning: "whether the step index tau_k enters the networks"),
        TrainingConfigKey("x_update", type: "string or null", range: "ncp, linear, or null (auto)",
                          meaning: "x update form; auto: ncp for U(1), linear for mixtures (linear on U(1) needs x_scale false)",
                          read: { $0.xUpdate.map { .string($0.rawValue) } ?? .null },
                          write: { c, v in c.xUpdate = v.value == .null ? nil : try v.choice(XUpdateForm.self) }),
        TrainingConfigKey("translation_sign", type: "integer", range: "1 or -1", meaning: "sign of T in the v update",
                          read: { .int(Int64($0.translationSign.rawValue)) },
                          write: { c, v in
                              guard let s = TranslationSign(rawValue: try v.int()) else { throw v.fail("1 or -1") }
                              c.translationSign = s
                          }),
        .boolean("x_scale", \.xScale, meaning: "train the x-scale head (false sets its net weight to 0)"),
        .number("kernel_scale", \.kernelScale, range: "> 0", meaning: "multiplies the initial kernel scale"),
        .integer("chains", \.chains, range: "1...\(maxCount)", meaning: "persistent chains trained together (the batch)"),
        .integer("tile", \.tile, range: "1...\(maxCount)",
                 meaning: "chains per tile, the unit of work of a thread (the last tile is shorter when chains is not a multiple); changes the numbers' rounding, threads never do"),
        .integer("steps", \.steps, range: "1...\(maxSteps)", meaning: "training steps N (with --resume: a larger total extends the run)",
                 allowedOnResume: true),
        TrainingConfigKey("seed", type: "integer", range: ">= 0", meaning: "random seed; everything random derives from it",
                          read: { .int(Int64(bitPattern: $0.seed)) },
                          write: { c, v in
                              guard case let .int(i) = v.value, i >= 0 else { throw v.fail("a non-negative integer") }
                              c.seed = UInt64(i)
                          }),
        .number("learning_rate", \.learningRate, range: "> 0", meaning: "Adam learning rate lr: lr(n) = lr * decay^floor(n / decay_steps)"),
        .number("learning_rate_decay", \.learningRateDecay, range: "(0, 1]", meaning: "staircase decay factor of the learning rate"),
        .integer("learning_rate_decay_steps", \.learningRateDecaySteps, range: ">= 1", meaning: "steps between learning-rate decays"),
        .number("clip_norm", \.clipNorm, range: ">= 0", meaning: "global-norm gradient clipping (0: off)"),
        .number("lambda", \.loss.lambda, range: "> 0", meaning: "length scale lambda of the ESJD term (eq. 36)"),
        .number("esjd_weight", \.loss.esjdWeight, range: "any number", meaning: "weight of the ESJD term"),
        .number("plaquette_weight", \.loss.plaquetteWeight, range: "U(1) only", meaning: "weight of the plaquette term (eq. 77)"),
        .number("lambda_plaquette", \.loss.lambdaPlaquette, range: "> 0", meaning: "scale of the plaquette term"),
        .number("charge_weight", \.loss.chargeWeight, range: "U(1) only", meaning: "weight of the topological-charge term (eq. 80-81)"),
        .number("lambda_charge", \.loss.lambdaCharge, range: "> 0", meaning: "scale of the charge term"),
        .number("acceptance_weight", \.loss.acceptanceWeight, range: "any number",
                meaning: "weight w_A of the acceptance reward -w_A A per chain (keeps acceptance up against the charge term)"),
        .number("aux_weight", \.loss.auxWeight, range: ">= 0", meaning: "lambda_b (eq. 37): weight of chains drawn fresh from the initial distribution"),
        .integer("checkpoint_every", \.checkpointEvery, range: ">= 0", meaning: "checkpoint every this many steps (0: none by step count)"),
        .number("checkpoint_seconds", \.checkpointSeconds, range: ">= 0",
                meaning: "also checkpoint once this much wall time passed since the last (0: none by time); never changes the numbers"),
        .integer("log_every", \.logEvery, range: ">= 1", meaning: "print a progress line every this many steps"),
        TrainingConfigKey("threads", type: "integer or auto", range: "1...\(maxThreads), at most the number of tiles; auto: the cores this process may use",
                          meaning: "worker threads, each computing whole tiles; the results are bit-identical for every value (not recorded; --resume may change it)",
                          allowedOnResume: true, recorded: false,
                          read: { $0.threads.map { .int(Int64($0)) } ?? .null },
                          write: { c, v in
                              if v.value == .null || v.value == .string("auto") { c.threads = nil } else { c.threads = try v.int() }
                          }),
    ]

    /// Every key name, in the order they are printed.
    public static let keys: [String] = keyTable.map(\.name)

    /// The table entry of `name`.
    public static func key(named name: String) -> TrainingConfigKey? { keyIndex[name].map { keyTable[$0] } }

    private static let keyIndex: [String: Int] = Dictionary(uniqueKeysWithValues: keyTable.enumerated().map { ($1.name, $0) })

    /// How a value is shown in help and in the printed configuration: strings bare, `null` as
    /// `auto`, lists in brackets.
    public static func render(_ v: JSONValue) -> String {
        switch v {
        case let .string(s): return s
        case let .int(i): return "\(i)"
        case let .double(d): return "\(d)"
        case let .bool(b): return "\(b)"
        case .null: return "auto"
        case let .array(a): return "[" + a.map(render).joined(separator: ",") + "]"
        case .object: return "{...}"
        }
    }

    /// The configuration-key section of `l2hmc-train train --help`: every flag with its type,
    /// meaning, allowed values and default.
    public static var keyHelp: String {
        keyTable.map { k in
            "\(k.flag) (\(k.type)): \(k.meaning); \(k.range); default \(render(k.defaultValue))"
        }.joined(separator: "\n")
    }
}

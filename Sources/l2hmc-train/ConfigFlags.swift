import ArgumentParser

/// One command-line option per configuration key (docs/TRAINING.md lists them with defaults).
struct ConfigFlags: ParsableArguments {
    @Option(name: .customLong("target"), help: "Config key target.") var target: String?
    @Option(name: .customLong("lattice"), help: "Config key lattice.") var lattice: String?
    @Option(name: .customLong("beta-init"), help: "Config key beta_init.") var betaInit: String?
    @Option(name: .customLong("beta-final"), help: "Config key beta_final.") var betaFinal: String?
    @Option(name: .customLong("mixture-means"), help: "Config key mixture_means.") var mixtureMeans: String?
    @Option(name: .customLong("mixture-variance"), help: "Config key mixture_variance.") var mixtureVariance: String?
    @Option(name: .customLong("mixture-weights"), help: "Config key mixture_weights.") var mixtureWeights: String?
    @Option(name: .customLong("temperature-init"), help: "Config key temperature_init.") var temperatureInit: String?
    @Option(name: .customLong("temperature-final"), help: "Config key temperature_final.") var temperatureFinal: String?
    @Option(name: .customLong("n-lf"), help: "Config key n_lf.") var nLf: String?
    @Option(name: .customLong("eps-init"), help: "Config key eps_init.") var epsInit: String?
    @Option(name: .customLong("hidden-units"), help: "Config key hidden_units.") var hiddenUnits: String?
    @Option(name: .customLong("activation"), help: "Config key activation.") var activation: String?
    @Option(name: .customLong("layout"), help: "Config key layout.") var layout: String?
    @Option(name: .customLong("x-networks-per-step"), help: "Config key x_networks_per_step.") var xNetworksPerStep: String?
    @Option(name: .customLong("x-input"), help: "Config key x_input.") var xInput: String?
    @Option(name: .customLong("mask-placement"), help: "Config key mask_placement.") var maskPlacement: String?
    @Option(name: .customLong("time-input"), help: "Config key time_input.") var timeInput: String?
    @Option(name: .customLong("x-update"), help: "Config key x_update.") var xUpdate: String?
    @Option(name: .customLong("translation-sign"), help: "Config key translation_sign.") var translationSign: String?
    @Option(name: .customLong("x-scale"), help: "Config key x_scale.") var xScale: String?
    @Option(name: .customLong("kernel-scale"), help: "Config key kernel_scale.") var kernelScale: String?
    @Option(name: .customLong("chains"), help: "Config key chains.") var chains: String?
    @Option(name: .customLong("steps"), help: "Config key steps.") var steps: String?
    @Option(name: .customLong("seed"), help: "Config key seed.") var seed: String?
    @Option(name: .customLong("learning-rate"), help: "Config key learning_rate.") var learningRate: String?
    @Option(name: .customLong("learning-rate-decay"), help: "Config key learning_rate_decay.") var learningRateDecay: String?
    @Option(name: .customLong("learning-rate-decay-steps"), help: "Config key learning_rate_decay_steps.") var learningRateDecaySteps: String?
    @Option(name: .customLong("clip-norm"), help: "Config key clip_norm.") var clipNorm: String?
    @Option(name: .customLong("lambda"), help: "Config key lambda.") var lambda: String?
    @Option(name: .customLong("esjd-weight"), help: "Config key esjd_weight.") var esjdWeight: String?
    @Option(name: .customLong("plaquette-weight"), help: "Config key plaquette_weight.") var plaquetteWeight: String?
    @Option(name: .customLong("lambda-plaquette"), help: "Config key lambda_plaquette.") var lambdaPlaquette: String?
    @Option(name: .customLong("charge-weight"), help: "Config key charge_weight.") var chargeWeight: String?
    @Option(name: .customLong("lambda-charge"), help: "Config key lambda_charge.") var lambdaCharge: String?
    @Option(name: .customLong("aux-weight"), help: "Config key aux_weight.") var auxWeight: String?
    @Option(name: .customLong("checkpoint-every"), help: "Config key checkpoint_every.") var checkpointEvery: String?
    @Option(name: .customLong("checkpoint-seconds"), help: "Config key checkpoint_seconds.") var checkpointSeconds: String?
    @Option(name: .customLong("log-every"), help: "Config key log_every.") var logEvery: String?

    /// (key, value) for every flag given, in the documented key order.
    var given: [(String, String)] {
        let all: [(String, String?)] = [
            ("target", target),
            ("lattice", lattice),
            ("beta_init", betaInit),
            ("beta_final", betaFinal),
            ("mixture_means", mixtureMeans),
            ("mixture_variance", mixtureVariance),
            ("mixture_weights", mixtureWeights),
            ("temperature_init", temperatureInit),
            ("temperature_final", temperatureFinal),
            ("n_lf", nLf),
            ("eps_init", epsInit),
            ("hidden_units", hiddenUnits),
            ("activation", activation),
            ("layout", layout),
            ("x_networks_per_step", xNetworksPerStep),
            ("x_input", xInput),
            ("mask_placement", maskPlacement),
            ("time_input", timeInput),
            ("x_update", xUpdate),
            ("translation_sign", translationSign),
            ("x_scale", xScale),
            ("kernel_scale", kernelScale),
            ("chains", chains),
            ("steps", steps),
            ("seed", seed),
            ("learning_rate", learningRate),
            ("learning_rate_decay", learningRateDecay),
            ("learning_rate_decay_steps", learningRateDecaySteps),
            ("clip_norm", clipNorm),
            ("lambda", lambda),
            ("esjd_weight", esjdWeight),
            ("plaquette_weight", plaquetteWeight),
            ("lambda_plaquette", lambdaPlaquette),
            ("charge_weight", chargeWeight),
            ("lambda_charge", lambdaCharge),
            ("aux_weight", auxWeight),
            ("checkpoint_every", checkpointEvery),
            ("checkpoint_seconds", checkpointSeconds),
            ("log_every", logEvery)
        ]
        return all.compactMap { k, v in v.map { (k, $0) } }
    }
}

import Foundation
import HDF5Kit
import ModelFormat

/// The HDF5 training checkpoint (docs/CHECKPOINT.md): everything needed to continue training
/// bit for bit, and to convert the model without any other input.
///
/// Root attributes: `format` = "l2hmc-train-checkpoint", `format_version` = "1.0", `producer`,
/// `step` (int64), `rng_state` (the name of the random stream, ``randomStream``; checkpoints of
/// older versions hold the decimal state of their SplitMix64 stream there), `adam_t` (int64),
/// `config` (the recorded training configuration as JSON text, without `threads`), `sampler`
/// (the sampler description as JSON text in the `.l2z` manifest schema, step sizes exported raw).
/// Datasets (float64 unless noted): `/params/<name>` for every trainable parameter (names as in
/// `.l2z`, step sizes as `log_eps_x`, `log_eps_v`), `/adam/m/<name>`, `/adam/v/<name>`,
/// `/masks` [n_lf, n] uint8, `/chains` [chains, n].
public enum Checkpoint {
    public static let format = "l2hmc-train-checkpoint"
    public static let formatVersion = "1.0"
    /// The `rng_state` of this version: every random number is a function of (seed, step, chain,
    /// purpose, index) (``TrainerRandom``), so no generator state is stored.
    public static let randomStream = "counter:philox4x32-10"

    /// Writes durably (temporary file, fsync, rename; see ``DurableFile``). With
    /// `replaceExisting` false an existing `path` is `io.output_exists` and stays untouched.
    public static func write(_ trainer: L2HMCTrainer, to path: String, replaceExisting: Bool = true, hooks: DurableFile.Hooks = .none) throws {
        let model = trainer.model
        try DurableFile.writeHDF5(to: path, replaceExisting: replaceExisting, hooks: hooks) { f in
            try f.writeAttribute("/", "format", .string(format))
            try f.writeAttribute("/", "format_version", .string(formatVersion))
            try f.writeAttribute("/", "producer", .string("l2hmc-train \(TrainerInfo.version)"))
            try f.writeAttribute("/", "step", .int(Int64(trainer.step)))
            try f.writeAttribute("/", "rng_state", .string(randomStream))
            try f.writeAttribute("/", "adam_t", .int(Int64(trainer.adam.t)))
            try f.writeAttribute("/", "config", .string(String(decoding: try CanonicalJSONWriter.encode(trainer.config.recordedJSON()), as: UTF8.self)))
            try f.writeAttribute("/", "sampler", .string(try samplerText(model.spec)))
            for slice in model.params.slices {
                let r = slice.range
                try f.writeDataset("/params/\(slice.name)", shape: slice.shape, doubles: Array(model.params.values[r]))
                try f.writeDataset("/adam/m/\(slice.name)", shape: slice.shape, doubles: Array(trainer.adam.m[r]))
                try f.writeDataset("/adam/v/\(slice.name)", shape: slice.shape, doubles: Array(trainer.adam.v[r]))
            }
            try f.writeDataset("/masks", shape: [model.masks.count, model.spec.stateSize], uint8s: model.masks.flatMap { $0.map { $0 != 0 ? 1 : 0 } })
            try f.writeDataset("/chains", shape: [trainer.config.chains, model.spec.stateSize], doubles: trainer.chainStates)
        }
    }

    /// The `sampler` attribute's text for `spec`.
    static func samplerText(_ spec: SamplerSpec) throws -> String {
        String(decoding: try CanonicalJSONWriter.encode(ManifestCodec.encodeSampler(spec)), as: UTF8.self)
    }

    /// True when `path` is a regular file whose root `format` attribute names this format: the
    /// marker by which `--force` recognises a checkpoint l2hmc-train wrote.
    public static func isCheckpoint(_ path: String) -> Bool {
        var st = stat()
        guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, let f = try? HDF5File.open(path) else { return false }
        defer { try? f.close() }
        return (try? f.readAttribute("/", "format")) == .string(format)
    }
}

public enum TrainerInfo {
    /// The one version of the package (ModelFormatInfo.version).
    public static let version = ModelFormatInfo.version
}

import Foundation
import HDF5Kit
import ModelFormat

/// The HDF5 training checkpoint (docs/CHECKPOINT.md): everything needed to continue training
/// bit for bit, and to convert the model without any other input.
///
/// Root attributes: `format` = "l2hmc-train-checkpoint", `format_version` = "1.0", `producer`,
/// `step` (int64), `rng_state` (decimal string of the UInt64 SplitMix64 state), `adam_t`
/// (int64), `config` (the training configuration as JSON text), `sampler` (the sampler
/// description as JSON text in the `.l2z` manifest schema, step sizes exported raw).
/// Datasets (float64 unless noted): `/params/<name>` for every trainable parameter (names as in
/// `.l2z`, step sizes as `log_eps_x`, `log_eps_v`), `/adam/m/<name>`, `/adam/v/<name>`,
/// `/masks` [n_lf, n] uint8, `/chains` [chains, n].
public enum Checkpoint {
    public static let format = "l2hmc-train-checkpoint"
    public static let formatVersion = "1.0"

    public struct Failure: Error, CustomStringConvertible, Equatable {
        public let path: String
        public let reason: String
        public var description: String { "[checkpoint.invalid] \(path): \(reason)" }
    }

    /// Writes atomically (temporary file, fsync, rename).
    public static func write(_ trainer: L2HMCTrainer, to path: String) throws {
        let model = trainer.model
        try HDF5Atomic.write(to: path, replaceExisting: true) { f in
            try f.writeAttribute("/", "format", .string(format))
            try f.writeAttribute("/", "format_version", .string(formatVersion))
            try f.writeAttribute("/", "producer", .string("l2hmc-train \(TrainerInfo.version)"))
            try f.writeAttribute("/", "step", .int(Int64(trainer.step)))
            try f.writeAttribute("/", "rng_state", .string(String(trainer.rngState)))
            try f.writeAttribute("/", "adam_t", .int(Int64(trainer.adam.t)))
            try f.writeAttribute("/", "config", .string(String(decoding: try CanonicalJSONWriter.encode(trainer.config.json()), as: UTF8.self)))
            try f.writeAttribute("/", "sampler", .string(String(decoding: try CanonicalJSONWriter.encode(ManifestCodec.encodeSampler(model.spec)), as: UTF8.self)))
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

    /// Reads a checkpoint and rebuilds the trainer exactly as it was.
    public static func read(_ path: String) throws -> L2HMCTrainer {
        let f = try HDF5File.open(path)
        defer { try? f.close() }
        func fail(_ reason: String) -> Failure { Failure(path: path, reason: reason) }
        func string(_ name: String) throws -> String {
            guard case let .string(s) = try f.readAttribute("/", name) else { throw fail("attribute \(name) is not a string") }
            return s
        }
        func int(_ name: String) throws -> Int {
            guard case let .int(i) = try f.readAttribute("/", name) else { throw fail("attribute \(name) is not an integer") }
            return Int(i)
        }
        guard try string("format") == format else { throw fail("not an \(format) file") }
        guard try string("format_version") == formatVersion else { throw fail("format version \(try string("format_version")) is not \(formatVersion)") }
        let config = try TrainingConfig(jsonBytes: Array(try string("config").utf8))
        guard let rngState = UInt64(try string("rng_state")) else { throw fail("rng_state is not an unsigned integer") }
        let step = try int("step")
        var model = try TrainerModel(spec: config.samplerSpec(), eps: config.epsInit, seed: config.seed, kernelScale: config.kernelScale)
        var adam = Adam(count: model.params.values.count)
        adam.t = try int("adam_t")
        for slice in model.params.slices {
            func load(_ group: String) throws -> [Double] {
                let a = try f.readDataset("\(group)/\(slice.name)")
                let v = a.doubles; guard a.shape == slice.shape else { throw fail("\(group)/\(slice.name) has shape \(a.shape), expected \(slice.shape)") }
                return v
            }
            model.params.values.replaceSubrange(slice.range, with: try load("/params"))
            adam.m.replaceSubrange(slice.range, with: try load("/adam/m"))
            adam.v.replaceSubrange(slice.range, with: try load("/adam/v"))
        }
        let n = model.spec.stateSize
        let masks = try f.readDataset("/masks")
        let mv = masks.doubles; guard masks.shape == [config.nLF, n] else { throw fail("/masks has shape \(masks.shape), expected \([config.nLF, n])") }
        model = TrainerModel(spec: model.spec, masks: (0..<config.nLF).map { Array(mv[($0 * n)..<(($0 + 1) * n)]) }, params: model.params)
        let chains = try f.readDataset("/chains")
        let cv = chains.doubles; guard chains.shape == [config.chains, n] else { throw fail("/chains has shape \(chains.shape), expected \([config.chains, n])") }
        return L2HMCTrainer(config: config, model: model, adam: adam, step: step, chains: Matrix(rows: config.chains, cols: n, data: cv), rngState: rngState)
    }
}

public enum TrainerInfo {
    public static let version = "0.1.0"
}

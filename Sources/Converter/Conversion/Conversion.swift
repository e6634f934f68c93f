import Foundation
import Inference
import ModelFormat

/// What the caller asks of a conversion, besides the source file.
public struct ConversionOptions: Sendable {
    /// Facts from flags (they override the sidecar's, which override the preset's).
    public var flagFacts = Facts()
    public var preset: String?
    public var configPath: String?
    /// Force a naming instead of detecting it from the weight names.
    public var naming: KerasNaming?
    /// Keras 3 weights without layer names: pair layers by the documented order.
    public var matchByOrder = false
    /// Accept datasets that map to no canonical array (they are listed as warnings).
    public var allowUnused = false
    /// Make an exactly-all-zero trained kernel or bias an error instead of a warning.
    public var strict = false
    /// Link layout of the written model (default `t_x_mu`, ours); arrays are permuted when the
    /// source's differs.
    public var outputLinkLayout: LinkLayout?
    /// Rows of the stored probe.
    public var probeBatch = 4
    /// Largest source dataset read, in elements (checked before allocating; ``SourceFile``).
    public var maxDatasetElements = SourceFile.defaultMaxDatasetElements

    public init() {}
}

/// One row of the mapping table: a source dataset and what became of it.
public struct MappingRow: Equatable, Sendable {
    public let source: String
    public let shape: [Int]
    public let dtype: String
    /// The canonical array (or arrays), `ignored`, or `UNMAPPED`.
    public let target: String
    public let note: String
}

/// Everything `--dry-run` prints: the source, the facts with their origins, the mapping table,
/// warnings.
public struct ConversionReport: Sendable {
    public let sourcePath: String
    public let sourceKind: SourceKind
    public let naming: String?
    /// (fact, value, origin) in a fixed order.
    public let facts: [(String, String, String)]
    public let rows: [MappingRow]
    /// Canonical arrays written that come from no source dataset (step sizes, masks, probe).
    public let generated: [(String, String)]
    public let warnings: [String]
    /// The written model's description (an l2hmc sampler or a flow).
    public let spec: ModelSpec

    /// The report as text lines (the CLI's `--dry-run` output).
    public func lines() -> [String] {
        var out = [UntrustedText.escaped("source      \(sourcePath)"), "layout      \(sourceKind.rawValue)\(naming.map { ", \($0) naming" } ?? "")"]
        out += ModelDescription.lines(spec)
        if !facts.isEmpty {
            out.append("")
            out.append(table(["fact", "value", "from"], facts.map { [$0.0, $0.1, $0.2] }))
        }
        out.append("")
        out.append(table(["source dataset", "dtype", "shape", "->", "note"],
                         rows.map { [$0.source, $0.dtype, "[" + $0.shape.map(String.init).joined(separator: ", ") + "]", $0.target, $0.note] }))
        if !generated.isEmpty {
            out.append("")
            out.append(table(["written without a source dataset", "how"], generated.map { [$0.0, $0.1] }))
        }
        out.append("")
        let mapped = rows.filter { !$0.target.hasPrefix("ignored") && $0.target != "UNMAPPED" }.count
        let unmapped = rows.filter { $0.target == "UNMAPPED" }.count
        out.append("\(rows.count) source datasets: \(mapped) mapped, \(rows.count - mapped - unmapped) ignored, \(unmapped) unmapped; \(warnings.count) warning(s)")
        return out
    }
}

extension ConversionReport {
    /// The report of an L2HMC conversion.
    init(sourcePath: String, sourceKind: SourceKind, naming: String?, facts: [(String, String, String)], rows: [MappingRow],
         generated: [(String, String)], warnings: [String], sampler: SamplerSpec) {
        self.init(sourcePath: sourcePath, sourceKind: sourceKind, naming: naming, facts: facts, rows: rows, generated: generated,
                  warnings: warnings, spec: .l2hmc(sampler))
    }
}

/// A converted model (with its probe) and the report of how it was made.
public struct ConversionResult {
    public let model: L2ZModel
    public let report: ConversionReport
}

/// Converts checkpoints (ours, Keras's HDF5, PyTorch's zip, safetensors) into `.l2z` models (docs/CONVERT.md).
public enum Converter {
    /// Reads `path`, maps every dataset, applies the facts, builds the model and its probe.
    /// Nothing is written; ``write(_:to:force:)`` does that.
    public static func convert(path: String, options: ConversionOptions = ConversionOptions()) throws -> ConversionResult {
        try UpstreamArtifact.check(path)
        try SourcePath.requireRegularFile(path)
        if TensorFileSource.handles(path: path) {
            if let flow = try TorchFlowConversion.convertIfFlow(path: path, options: options) { return flow }
            try TorchFlowConversion.refuseFlowFacts(options.flagFacts)
            return try TorchConversion.convert(path: path, options: options)
        }
        if let p = options.preset, FlowPreset.named(p) != nil {
            throw ConvertError.optionNotAccepted(option: "--preset \(p)", reason: "it is for PyTorch U(1) flow files (torch.save .pt/.tar, safetensors); this source is not one")
        }
        try TorchFlowConversion.refuseFlowFacts(options.flagFacts)
        let source = try SourceFile(path: path, maxDatasetElements: options.maxDatasetElements)
        if source.kind == .l2hmcCheckpoint {
            return try CheckpointConversion.convert(source, options: options)
        }
        return try KerasConversion.convert(source, options: options)
    }

    /// Writes atomically; an existing file is replaced only with `force`.
    public static func write(_ result: ConversionResult, to path: String, force: Bool) throws {
        try L2ZWriter.write(result.model, to: path, replaceExisting: force)
    }

    /// Stores the runtime's probe and re-runs it (the converted model must reproduce itself).
    /// A flow's probe holds `batch` rows of z uniform on [-pi, pi) (seeded, so the file is
    /// reproducible) with x, the log-det and the FT-HMC force (``FlowProbe``).
    static func addProbe(to model: inout L2ZModel, batch: Int) throws {
        let target = makeTarget(model.spec.target)
        if case let .flow(f) = model.spec {
            var rng = SplitMix64(seed: 0x464C_4F57)
            try FlowProbe.attach(to: &model, z: (0..<(batch * f.stateSize)).map { _ in 2 * .pi * rng.uniform() - .pi })
        } else {
            try ProbeBuilder.addProbe(to: &model, target: target, batch: batch)
        }
        do { _ = try ProbeVerifier.verify(model: model, target: target) } catch {
            throw ConvertError.probeFailed(reason: "\(error)")
        }
    }

    /// Kernels and biases that are exactly all zero (the upstream export bug's signature).
    static func zeroParameters(_ arrays: [String: NDArray]) -> [String] {
        arrays.keys.sorted().filter { name in
            guard name.hasSuffix(".kernel") || name.hasSuffix(".bias"), !ProbeArrayNames.isProbe(name), let v = arrays[name]?.doubles() else { return false }
            return !v.isEmpty && v.allSatisfy { $0 == 0 }
        }
    }

    static func zeroWarnings(_ names: [String], strict: Bool) throws -> [String] {
        if strict && !names.isEmpty { throw ConvertError.zeroParameters(names: names) }
        return names.map { "\($0) is exactly all zero: a trained \($0.hasSuffix(".bias") ? "bias" : "kernel") should not be (the upstream export bug wrote zero biases and untrained kernels); --strict makes this an error" }
    }

    static func provenance(_ source: SourceFile, description: String, training: [String: JSONValue]? = nil) -> Provenance {
        Provenance(producer: "l2hmc-convert", producerVersion: ModelFormatInfo.version, sourceSHA256: source.sha256,
                   source: "\(URL(fileURLWithPath: source.path).lastPathComponent) (\(description))", training: training)
    }
}

/// Plain text table with columns padded to their widest cell; every cell is escaped
/// (``UntrustedText``): a dataset name with a newline or a terminal escape stays in its cell.
func table(_ header: [String], _ cells: [[String]]) -> String {
    let rows = cells.map { $0.map { UntrustedText.escaped($0, limit: 512) } }
    let widths = header.indices.map { c in max(header[c].count, rows.map { $0[c].count }.max() ?? 0) }
    func line(_ r: [String]) -> String {
        r.enumerated().map { $0.offset == r.count - 1 ? $0.element : $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
            .joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
    }
    return ([line(header)] + rows.map(line)).joined(separator: "\n")
}

import Foundation
import HDF5Kit
import ModelFormat

/// Our trainer's `ckpt.h5` (docs/CHECKPOINT.md): the `sampler` attribute is the sampler
/// description in the manifest schema, `/params/<canonical name>` every parameter (step sizes
/// as `log_eps_x`, `log_eps_v`, exported as `exp`), `/masks` the masks; Adam moments and chain
/// states are training state and are ignored. No fact may be given: the file carries them all.
enum CheckpointConversion {
    static func convert(_ source: SourceFile, options: ConversionOptions) throws -> ConversionResult {
        try refuseOptions(options)
        let spec = try sampler(of: source)
        let expected = SamplerRules.expectedArrays(spec, probe: nil)
        var arrays: [String: NDArray] = [:]
        var rows: [MappingRow] = []
        var unmapped: [String] = []
        for d in source.datasets {
            let row = { (target: String, note: String) in
                MappingRow(source: d.location, shape: d.shape, dtype: d.dtype?.rawValue ?? d.typeDescription, target: target, note: note)
            }
            var canonical: String?
            var note = ""
            if d.name == "masks" {
                arrays["masks"] = try masks(source, d, spec: spec)
                canonical = "masks"
            } else if d.name.hasPrefix("params/") {
                let name = String(d.name.dropFirst("params/".count))
                switch name {
                case "log_eps_x", "log_eps_v":
                    canonical = name == "log_eps_x" ? "eps_x" : "eps_v"
                    note = "exp(\(name))"
                default:
                    canonical = expected[name] != nil && !["eps_x", "eps_v", "masks"].contains(name) ? name : nil
                }
                if let canonical, let want = expected[canonical] {
                    // The declared shape is checked before anything is read or allocated.
                    guard d.shape == want.shape else {
                        throw ConvertError.shapeMismatch(source: d.location, canonical: canonical, expected: want.shape, actual: d.shape,
                                                         reason: "the checkpoint's own sampler attribute describes this shape")
                    }
                    let (values, _) = try source.values(d)
                    guard arrays[canonical] == nil else { throw ConvertError.duplicateMapping(canonical: canonical, sources: [d.location]) }
                    arrays[canonical] = try NDArray(shape: d.shape, doubles: note.isEmpty ? values : values.map { exp($0) })
                }
            }
            if let canonical {
                rows.append(row(canonical, note))
            } else {
                rows.append(row("UNMAPPED", "not a parameter of the sampler the checkpoint describes"))
                unmapped.append(d.location)
            }
        }
        rows += source.ignored.map { MappingRow(source: $0.location, shape: $0.shape ?? [], dtype: "", target: "ignored", note: $0.reason) }
        var warnings: [String] = []
        if !unmapped.isEmpty {
            guard options.allowUnused else { throw ConvertError.unmappedDatasets(names: unmapped) }
            warnings += unmapped.map { "\($0) is not used (--allow-unused)" }
        }
        for name in expected.keys.sorted() where arrays[name] == nil {
            let wanted = name == "masks" ? "/masks" : name == "eps_x" ? "/params/log_eps_x" : name == "eps_v" ? "/params/log_eps_v" : "/params/\(name)"
            throw ConvertError.missingArray(canonical: name, expectedSource: "dataset \(wanted)")
        }
        warnings += try Converter.zeroWarnings(Converter.zeroParameters(arrays), strict: options.strict)

        var training: [String: JSONValue] = [:]
        if let config = try? source.stringAttribute("/", "config"), case let .object(o)? = try? StrictJSONParser.parse(Array(config.utf8)) {
            training = o
        }
        if case let .int(step)? = try? source.hdf5.readAttribute("/", "step") { training["step"] = .int(step) }
        var model = L2ZModel(sampler: spec, arrays: arrays,
                             provenance: Converter.provenance(source, description: SourceKind.l2hmcCheckpoint.rawValue, training: training.isEmpty ? nil : training))
        try Converter.addProbe(to: &model, batch: options.probeBatch)
        let report = ConversionReport(sourcePath: source.path, sourceKind: source.kind, naming: nil,
                                      facts: [("(all)", "from the checkpoint's sampler attribute", "the file")], rows: rows,
                                      generated: [(ProbeArrayNames.prefix + "*", "computed by the runtime on the converted model")],
                                      warnings: warnings, sampler: spec)
        return ConversionResult(model: model, report: report)
    }

    /// The sampler description of a checkpoint (format and version checked first).
    static func sampler(of source: SourceFile) throws -> SamplerSpec {
        func attribute(_ name: String) throws -> String {
            do { return try source.stringAttribute("/", name) } catch {
                throw ConvertError.invalidCheckpoint(path: source.path, reason: "root attribute \(name) is missing or not a string")
            }
        }
        let version = try attribute("format_version")
        guard version == "1.0" else {
            throw ConvertError.invalidCheckpoint(path: source.path, reason: "format_version \(version.debugDescription) is not supported (this converter reads 1.0)")
        }
        let text = try attribute("sampler")
        do {
            return try ManifestCodec.decodeSampler(try StrictJSONParser.parse(Array(text.utf8)))
        } catch let e as L2ZError {
            throw ConvertError.invalidCheckpoint(path: source.path, reason: "attribute sampler: \(e.message.replacingOccurrences(of: "manifest.json: ", with: ""))")
        } catch {
            throw ConvertError.invalidCheckpoint(path: source.path, reason: "attribute sampler is not valid JSON (\(error))")
        }
    }

    private static func masks(_ source: SourceFile, _ d: SourceDataset, spec: SamplerSpec) throws -> NDArray {
        let shape = [spec.dynamics.nLF, spec.stateSize]
        guard d.shape == shape else {
            throw ConvertError.shapeMismatch(source: d.location, canonical: "masks", expected: shape, actual: d.shape, reason: "n_lf rows of n links (the sampler attribute)")
        }
        guard let dtype = d.dtype, !dtype.isFloatingPoint else {
            throw ConvertError.wrongDType(source: d.location, found: d.dtype?.rawValue ?? d.typeDescription, expected: "uint8 (0/1)")
        }
        let values = try source.readRelabelled(d.hdf5Path).doubles
        if let i = values.firstIndex(where: { $0 != 0 && $0 != 1 }) {
            throw ConvertError.invalidCheckpoint(path: source.path, reason: "/masks element \(i) is \(values[i]); masks hold 0 or 1")
        }
        return try NDArray(shape: shape, uint8s: values.map { $0 == 1 ? 1 : 0 })
    }

    private static func refuseOptions(_ o: ConversionOptions) throws {
        let reason = "an l2hmc-train checkpoint carries every fact in its attributes"
        if let key = o.flagFacts.givenKeys.first { throw ConvertError.optionNotAccepted(option: FactKey(rawValue: key)?.flag ?? key, reason: reason) }
        if o.preset != nil { throw ConvertError.optionNotAccepted(option: "--preset", reason: reason) }
        if o.configPath != nil { throw ConvertError.optionNotAccepted(option: "--config", reason: reason) }
        if o.naming != nil { throw ConvertError.optionNotAccepted(option: "--naming", reason: "its datasets are named canonically") }
        if o.matchByOrder { throw ConvertError.optionNotAccepted(option: "--match-by-order", reason: "its datasets are named canonically") }
        if o.outputLinkLayout != nil { throw ConvertError.optionNotAccepted(option: "--output-link-layout", reason: "the checkpoint's own link layout is kept") }
    }
}

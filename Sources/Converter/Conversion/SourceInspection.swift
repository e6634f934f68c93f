import Foundation
import ModelFormat

/// `l2hmc-convert inspect` for HDF5 sources (and `.keras` archives): what the file holds and
/// what each dataset would map to, without any facts. Text from the file is escaped
/// (``ModelFormat/UntrustedText``): each returned line is one printable line.
public enum SourceInspection {
    public static func lines(path: String) throws -> [String] {
        let source = try SourceFile(path: path)
        var out = [UntrustedText.escaped("file        \(path)"), "layout      \(source.kind.rawValue)", "sha256      \(source.sha256)"]
        if let v = source.kerasVersion { out.append(UntrustedText.escaped("keras       \(v)")) }
        if let st = source.stated {
            let parts = [st.activation.map { "activation \($0.value.rawValue) (\($0.evidence))" },
                         st.batchNormEpsilon.map { "batch_norm_epsilon \($0.value) (\($0.evidence))" }].compactMap { $0 }
            out.append(UntrustedText.escaped("stated      \(parts.isEmpty ? "nothing" : parts.joined(separator: ", ")) in the file's \(st.origin)"))
        }
        var rows: [MappingRow] = []
        if source.kind == .l2hmcCheckpoint {
            let spec = try CheckpointConversion.sampler(of: source)
            if case let .int(step)? = try? source.hdf5.readAttribute("/", "step") { out.append("step        \(step)") }
            out += ModelDescription.lines(spec)
            let expected = SamplerRules.expectedArrays(spec, probe: nil)
            for d in source.datasets {
                let name = d.name.hasPrefix("params/") ? String(d.name.dropFirst(7)) : d.name
                let target: String
                switch name {
                case "log_eps_x": target = "eps_x (exp)"
                case "log_eps_v": target = "eps_v (exp)"
                default: target = expected[name] != nil ? name : "UNMAPPED"
                }
                rows.append(MappingRow(source: d.location, shape: d.shape, dtype: d.dtype?.rawValue ?? d.typeDescription, target: target, note: ""))
            }
            rows += source.ignored.map { MappingRow(source: $0.location, shape: $0.shape ?? [], dtype: "", target: "ignored", note: $0.reason) }
        } else {
            do {
                let mapping = try KerasMapping(source: source, options: ConversionOptions(), facts: Facts())
                out.append("naming      \(mapping.naming.rawValue)")
                do {
                    let s = try NetworkStructure(mapped: mapping.mapped, facts: Facts())
                    out.append("networks    \(s.layout.rawValue), \(s.xNetworksPerStep) x-network(s) per step\(s.nLF.map { ", \($0) step(s)" } ?? " (n_lf not in the file)"), hidden \(s.hiddenUnits)")
                    out.append("parts       time layer \(s.hasTimeLayer ? "yes" : "no"), batch norm \(s.hasBatchNorm ? "yes" : "no"), S coeff \(s.scaleCoeff ? "yes" : "no"), Q coeff \(s.transformationCoeff ? "yes" : "no")")
                } catch {
                    out.append(UntrustedText.escaped("networks    \(error)"))
                }
                rows = mapping.rows(notes: [:], permuted: false)
            } catch let e as ConvertError {
                out.append("naming      none recognized: \(e.message)")
                rows = source.datasets.map { MappingRow(source: $0.location, shape: $0.shape, dtype: $0.dtype?.rawValue ?? $0.typeDescription, target: "UNMAPPED", note: $0.name) }
                rows += source.ignored.map { MappingRow(source: $0.location, shape: $0.shape ?? [], dtype: "", target: "ignored", note: $0.reason) }
            }
            out.append("facts       conventions a Keras file does not carry (lattice, beta, step sizes, masks, signs, encodings) come from --preset/--config/flags at conversion (docs/CONVERT.md)")
        }
        out.append("")
        out.append(table(["dataset", "dtype", "shape", "would map to", "note"],
                         rows.map { [$0.source, $0.dtype, "[" + $0.shape.map(String.init).joined(separator: ", ") + "]", $0.target, $0.note] }))
        let unmapped = rows.filter { $0.target == "UNMAPPED" }.count
        out.append("")
        out.append("\(rows.count) datasets, \(unmapped) unmapped")
        return out
    }
}

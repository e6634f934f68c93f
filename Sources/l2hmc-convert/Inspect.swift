import ArgumentParser
import Converter
import Foundation
import ModelFormat

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verify a .l2z model and print its description and arrays; or list an HDF5 checkpoint.",
        discussion: """
            Every check of the reader runs (structure, CRC-32, SHA-256 of every array, manifest, \
            arrays against the architecture); a file failing any of them is reported with its \
            error code and exit status 1. Warns when a trained kernel or bias is exactly all zero.
            Given an HDF5 file (ckpt.h5, Keras .h5 / .weights.h5) or a Keras .keras archive, lists \
            its datasets and the canonical array each would map to (no facts needed).
            Given a safetensors file (recognized by its content or the .safetensors extension), \
            checks it strictly and lists every tensor (name, dtype, shape, bytes) and its metadata.
            Given a PyTorch zip checkpoint (torch.save: .pt, .pth, .tar; recognized by its content), \
            reads it without executing anything and lists every tensor and every skipped entry.
            """)

    @Argument(help: "The .l2z file (or HDF5 checkpoint, .keras archive, .safetensors file, PyTorch .pt/.pth/.tar) to inspect.")
    var path: String

    @Flag(help: "Print the report as JSON on stdout (.l2z, safetensors and PyTorch).")
    var json = false
    @Option(help: "Seconds an HDF5 or .keras source may take to be read (default 60); it is read in a child process, stopped past the limit.")
    var sourceTimeout: String?

    func validate() throws {
        _ = try SourceSupervisor.timeout(sourceTimeout)
    }

    func run() throws {
        do {
            try UpstreamArtifact.check(path)
            try SourcePath.requireRegularFile(path)
        } catch { failConvert(error) }
        if Inspect.isSafetensors(path) {
            let file: SafetensorsFile
            do { file = try SafetensorsFile(path: path) } catch { failConvert(error) }
            if json {
                Console.out((try? CanonicalJSONWriter.encode(SafetensorsReport.json(file))) ?? Array("{}\n".utf8))
            } else {
                print(printable(SafetensorsReport.lines(file)))
            }
            return
        }
        if TorchCheckpoint.looksLikeTorch(path: path) {
            let file: TorchCheckpoint
            do { file = try TorchCheckpoint(path: path) } catch { failConvert(error) }
            if json {
                Console.out((try? CanonicalJSONWriter.encode(TorchReport.json(file))) ?? Array("{}\n".utf8))
            } else {
                print(printable(TorchReport.lines(file)))
            }
            return
        }
        if Inspect.isConvertibleSource(path) {
            if json { throw ValidationError("--json is available for .l2z models only") }
            if WorkerContext.outputDirectory == nil {
                let timeout = try SourceSupervisor.timeout(sourceTimeout)
                do {
                    let outcome = try SourceSupervisor.run(Array(CommandLine.arguments.dropFirst()), source: path, timeout: timeout)
                    SourceSupervisor.relayFailure(outcome)
                    Console.error(outcome.stderr)
                    Console.out(outcome.stdout)
                    outcome.cleanUp()
                } catch { failConvert(error) }
                return
            }
            do { print(printable(try SourceInspection.lines(path: path))) } catch { failConvert(error) }
            return
        }
        let result: L2ZReader.Result
        do { result = try L2ZReader.read(path: path) } catch { fail(error) }
        let model = result.model
        let inspection = ModelInspection(model: model)
        if json {
            let report = InspectReport.json(result: result, inspection: inspection, path: path)
            let bytes = (try? CanonicalJSONWriter.encode(report)) ?? Array("{}\n".utf8)
            Console.out(bytes)
        } else {
            // Manifest strings (producer, source) are the file's: each line is escaped.
            print(printable([InspectReport.text(result: result, inspection: inspection, path: path)]))
        }
        for w in inspection.warnings { Console.error("warning: \(UntrustedText.escaped(w))\n") }
    }
}

extension Inspect {
    /// The `.safetensors` extension, or content that starts like one (``SafetensorsFile/looksLikeSafetensors(_:)``).
    static func isSafetensors(_ path: String) -> Bool {
        if path.lowercased().hasSuffix(".safetensors") { return true }
        guard let head = try? SourcePath.head(path, count: 9) else { return false }
        return SafetensorsFile.looksLikeSafetensors(head)
    }

    /// HDF5 signature at offset 0, or a zip whose first member is not `l2z.magic` (a `.keras`).
    static func isConvertibleSource(_ path: String) -> Bool {
        guard let head = try? SourcePath.head(path, count: 39) else { return false }
        if head.starts(with: [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]) { return true }
        guard head.starts(with: [0x50, 0x4B, 0x03, 0x04]), head.count >= 30 else { return false }
        let nameLength = Int(head[26]) | Int(head[27]) << 8
        return !(nameLength == 9 && head.count >= 39 && Array(head[30..<39]) == Array("l2z.magic".utf8))
    }
}

enum InspectReport {
    static func text(result: L2ZReader.Result, inspection: ModelInspection, path: String) -> String {
        let m = result.manifest
        var out = [UntrustedText.escaped("file        \(path)"),
                   "format      l2z \(m.formatVersion) (reader supports up to \(Manifest.currentVersion)); architecture \(m.architecture)",
                   "features    \(m.requiredFeatures.isEmpty ? "(none)" : m.requiredFeatures.joined(separator: ", "))",
                   UntrustedText.escaped("producer    \(m.provenance.producer) \(m.provenance.producerVersion)\(m.provenance.source.map { " (\($0))" } ?? "")")]
        if let sha = m.provenance.sourceSHA256 { out.append(UntrustedText.escaped("source      sha256 \(sha)")) }
        out += ModelDescription.lines(m.model)
        if let p = m.probe {
            out.append("probe       batch \(p.batch), networks \(p.networks.joined(separator: ", "))\(p.trajectory ? ", one trajectory" : "") (re-run by the runtime)")
        } else {
            out.append("probe       none stored")
        }
        out.append("")
        let header = ["name", "dtype", "shape", "sha256", "min", "max", "norm"]
        var rows: [[String]] = []
        for a in inspection.arrays {
            rows.append([a.name, a.dtype.rawValue, "[" + a.shape.map(String.init).joined(separator: ", ") + "]", "ok " + a.sha256.prefix(12),
                         a.min.map(ModelDescription.formatNumber) ?? "-", a.max.map(ModelDescription.formatNumber) ?? "-",
                         a.norm.map(ModelDescription.formatNumber) ?? "-"])
        }
        let widths = header.indices.map { c in max(header[c].count, rows.map { $0[c].count }.max() ?? 0) }
        func line(_ r: [String]) -> String {
            r.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }
        out.append(line(header))
        out += rows.map(line)
        let totalBytes = inspection.arrays.reduce(0) { $0 + $1.shape.reduce(1, *) * $1.dtype.itemSize }
        out.append("")
        out.append("\(inspection.arrays.count) arrays, \(totalBytes) data bytes, all SHA-256 checksums verified; \(inspection.warnings.count) warning(s)")
        return out.joined(separator: "\n")
    }

    static func json(result: L2ZReader.Result, inspection: ModelInspection, path: String) -> JSONValue {
        let arrays: [JSONValue] = inspection.arrays.map { a in
            var o: [String: JSONValue] = ["name": .string(a.name), "dtype": .string(a.dtype.rawValue),
                                          "shape": .array(a.shape.map { .int(Int64($0)) }), "sha256": .string(a.sha256),
                                          "checksum": .string("verified"), "all_zero": .bool(a.allZero)]
            o["min"] = a.min.map { .double($0) } ?? .null
            o["max"] = a.max.map { .double($0) } ?? .null
            o["norm"] = a.norm.map { .double($0) } ?? .null
            return .object(o)
        }
        return .object([
            "file": .string(path),
            "format_version": .string(result.manifest.formatVersion.description),
            "reader_format_version": .string(Manifest.currentVersion.description),
            "architecture": .string(result.manifest.architecture.description),
            "description": .array(ModelDescription.lines(result.manifest.model).map { .string($0) }),
            "manifest": ManifestCodec.encode(result.manifest),
            "arrays": .array(arrays),
            "warnings": .array(inspection.warnings.map { .string($0) }),
        ])
    }
}

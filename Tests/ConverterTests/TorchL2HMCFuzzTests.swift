@testable import Converter
import Foundation
@testable import ModelFormat
import XCTest

/// A seeded mutation fuzzer over the whole PyTorch L2HMC conversion path (``Converter/convert``
/// with the head2023 facts: preset, masks, hydra config) on the REAL fixtures
/// (fixtures/torch-l2hmc), plus the two fact readers of that path (``HydraConfig`` on mutated
/// YAML text, ``ExportMetadata`` via mutated `__metadata__` of an export).
///
/// Mutations:
/// - head2023.safetensors: the header JSON is rewritten consistently (valid length, padding)
///   with one entry's shape, dtype, name or offsets changed, an entry dropped or duplicated
///   under another name, an `l2hmc.*` metadata value added; or data bytes overwritten (a float
///   element set to NaN, ±inf, a huge or a denormal value).
/// - model-1-0-5-*.pth: the zip rebuilt with valid CRCs (the project's libzip writer, as
///   ``TorchFuzzTests`` does) with `data.pkl` bytes overwritten, or a storage record's bytes
///   overwritten (NaN, inf) or cut short.
///
/// Contract: every case converts or throws a ``ConvertError`` or ``L2ZError`` (a coded error
/// with a one-line message); any other error fails the case; a crash kills the test process,
/// which is the failure signal. Time: `L2HMC_FUZZ_SECONDS` (default 0.6: about 2.5 s for the four tests in CI) seconds per test;
/// `L2HMC_FUZZ_SEED` picks another run seed (the case label replays it).
final class TorchL2HMCFuzzTests: XCTestCase {
    static var seconds: Double { ProcessInfo.processInfo.environment["L2HMC_FUZZ_SECONDS"].flatMap(Double.init) ?? 0.6 }
    static var runSeed: UInt64 { ProcessInfo.processInfo.environment["L2HMC_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0x7472_6368_6675_7A01 }

    struct Tally {
        var cases = 0, converted = 0
        var codes: [String: Int] = [:]
        var failures: [String] = []

        mutating func run(_ label: String, _ body: () throws -> Void) {
            cases += 1
            do {
                try body()
                converted += 1
            } catch let e as ConvertError {
                codes[e.code, default: 0] += 1
                if e.message.contains("\n") { failures.append("\(label): [\(e.code)] message of more than one line") }
            } catch let e as L2ZError {
                codes[e.code, default: 0] += 1
                if e.message.contains("\n") { failures.append("\(label): [\(e.code)] message of more than one line") }
            } catch {
                failures.append("\(label): threw \(error), not a coded error")
            }
        }

        func report(_ name: String, seconds: Double) {
            print("\(name): \(cases) cases in \(String(format: "%.2f", seconds)) s; \(converted) converted, \(failures.count) failures; codes: "
                + codes.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
            for f in failures { XCTFail(f) }
        }
    }

    static func head2023Options() throws -> ConversionOptions {
        try options(preset: "torch-2023-06", [(.masks, Fixtures.torchL2HMC("head2023-masks.npy"))]) {
            $0.configPath = Fixtures.torchL2HMC("head2023-config.yaml")
            $0.outputLinkLayout = .muTX
        }
    }

    /// The fuzz options: the head2023 facts with a one-row probe (the probe is computed and
    /// verified on every converted case; one row keeps a case near 20 ms in a debug build).
    static func fuzzOptions() throws -> ConversionOptions {
        var o = try head2023Options()
        o.probeBatch = 1
        return o
    }

    /// Cases at least, whatever the clock says (a slow CI machine still runs enough of them).
    static let minCases = 16

    // MARK: safetensors

    /// A safetensors file split into its header (a JSON object) and its data bytes.
    struct SafetensorsParts {
        var header: [String: Any]
        var data: [UInt8]

        init(_ bytes: [UInt8]) throws {
            var n = 0
            for i in (0..<8).reversed() { n = n << 8 | Int(bytes[i]) }
            header = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + n)])) as? [String: Any])
            data = Array(bytes[(8 + n)...])
        }

        func encoded() throws -> [UInt8] {
            var json = Array(try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
            while json.count % 8 != 0 { json.append(0x20) }
            var out: [UInt8] = []
            var n = UInt64(json.count)
            for _ in 0..<8 { out.append(UInt8(n & 0xFF)); n >>= 8 }
            return out + json + data
        }

        var tensorNames: [String] { header.keys.filter { $0 != "__metadata__" }.sorted() }

        /// The data rebuilt so the tensors tile it again (after entries were dropped or copied
        /// under another name): each entry's bytes, in name order.
        mutating func repack() {
            var out: [UInt8] = []
            for name in tensorNames {
                guard var entry = header[name] as? [String: Any], let o = entry["data_offsets"] as? [Int], o.count == 2,
                      0 <= o[0], o[0] <= o[1], o[1] <= data.count else { continue }
                entry["data_offsets"] = [out.count, out.count + o[1] - o[0]]
                out += data[o[0]..<o[1]]
                header[name] = entry
            }
            data = out
        }
    }

    static let interesting: [Double] = [.nan, .infinity, -.infinity, 1e300, -1e300, 3e38, .leastNonzeroMagnitude, 0, -0.0, 1, -1]

    /// One mutation of a safetensors file's header or data; returns a description.
    static func mutate(_ parts: inout SafetensorsParts, _ rng: inout SplitMix64) -> String {
        let names = parts.tensorNames
        let name = names[rng.int(names.count)]
        var entry = parts.header[name] as? [String: Any] ?? [:]
        switch rng.int(9) {
        case 0:
            var shape = entry["shape"] as? [Int] ?? []
            let choices = [0, 1, 2, 3, 4, 8, 16, 32, 64, 1 << 20, 1 << 40]
            switch rng.int(3) {
            case 0 where !shape.isEmpty: shape[rng.int(shape.count)] = choices[rng.int(choices.count)]
            case 1: shape.append(choices[rng.int(choices.count)])
            default: if !shape.isEmpty { shape.removeLast() }
            }
            entry["shape"] = shape
            parts.header[name] = entry
            // Half the time the bytes follow (zeros appended or bytes cut), so the layout is
            // valid and the shape reaches the converter's checks.
            let width = (entry["dtype"] as? String) == "F64" || (entry["dtype"] as? String) == "I64" ? 8 : 4
            let count = shape.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }
            if rng.int(2) == 0, count <= 1 << 16, let o = entry["data_offsets"] as? [Int], o.count == 2, 0 <= o[0], o[0] <= o[1], o[1] <= parts.data.count {
                var bytes = Array(parts.data[o[0]..<o[1]])
                bytes = Array(bytes.prefix(count * width)) + [UInt8](repeating: 0, count: max(0, count * width - bytes.count))
                parts.data.replaceSubrange(o[0]..<o[1], with: bytes)
                let shift = bytes.count - (o[1] - o[0])
                for other in parts.tensorNames {
                    guard var e = parts.header[other] as? [String: Any], let eo = e["data_offsets"] as? [Int], eo.count == 2 else { continue }
                    if other == name { e["data_offsets"] = [o[0], o[0] + bytes.count] } else if eo[0] >= o[1] { e["data_offsets"] = [eo[0] + shift, eo[1] + shift] }
                    parts.header[other] = e
                }
                return "\(name): shape -> \(shape), bytes resized"
            }
            return "\(name): shape -> \(shape)"
        case 1:
            let dtypes = ["F16", "BF16", "F32", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL", "F8_E4M3", "X"]
            let d = dtypes[rng.int(dtypes.count)]
            entry["dtype"] = d
            parts.header[name] = entry
            return "\(name): dtype -> \(d)"
        case 2:
            // Rename: a plausible key of the naming (another step, half, layer, prefix) or garbage.
            let renames: [(String, String)] = [("first", "second"), ("second", "first"), (".0.", ".1."), (".1.", ".0."), (".1.", ".2."),
                                                ("networks.", ""), ("xnet", "vnet"), ("vnet", "xnet"), ("hidden_layers.0", "hidden_layers.1"),
                                                ("scale", "transf"), ("weight", "bias"), ("xeps.1", "xeps.2"), ("veps.0", "veps.00"),
                                                (".first", ""), ("batch_norm.running_var", "batch_norm.num_batches_tracked")]
            let (a, b) = renames[rng.int(renames.count)]
            guard let r = name.range(of: a) else { return "no rename" }
            let new = name.replacingCharacters(in: r, with: b)
            parts.header[name] = nil
            parts.header[new] = entry
            parts.repack()
            return "rename \(name) -> \(new)"
        case 3:
            parts.header[name] = nil
            parts.repack()
            return "drop \(name)"
        case 4:
            // The same bytes under a second name (as an alias would be).
            let other = names[rng.int(names.count)]
            parts.header[other] = entry
            parts.repack()
            return "\(other) gets the entry of \(name)"
        case 5:
            var offsets = entry["data_offsets"] as? [Int] ?? [0, 0]
            offsets[rng.int(2)] += [-8, -4, -1, 1, 4, 8][rng.int(6)]
            entry["data_offsets"] = offsets
            parts.header[name] = entry
            return "\(name): offsets -> \(offsets)"
        case 6:
            let keys = FactKey.allCases.map { "l2hmc." + $0.rawValue } + ["l2hmc.masks", "l2hmc.unknown"]
            let values = ["", "0", "-1", "2", "3", "4x4", "2x2", "1e309", "nan", "true", "per_step", "shared", "leaky_relu", "elu", "8,8", "8",
                          "1.0,1.0,1.0,1.0,1.0,1.0", "0101", "01;10", "exp", "linear", "raw", "+1", "mu_t_x", "t_x_mu", "kept_first"]
            var meta = parts.header["__metadata__"] as? [String: String] ?? [:]
            let key = keys[rng.int(keys.count)], value = values[rng.int(values.count)]
            meta[key] = value
            parts.header["__metadata__"] = meta
            return "metadata \(key) = \(value)"
        default:
            // Data: one element of this tensor set to an interesting value (as float32 or float64).
            let offsets = entry["data_offsets"] as? [Int] ?? [0, 0]
            let width = (entry["dtype"] as? String) == "F64" ? 8 : 4
            guard offsets[1] - offsets[0] >= width else { return "no data" }
            let count = (offsets[1] - offsets[0]) / width
            let at = offsets[0] + width * rng.int(count)
            let v = interesting[rng.int(interesting.count)]
            let bytes: [UInt8] = width == 8 ? withUnsafeBytes(of: v.bitPattern.littleEndian, Array.init)
                                            : withUnsafeBytes(of: Float(v).bitPattern.littleEndian, Array.init)
            for (i, b) in bytes.enumerated() where at + i < parts.data.count { parts.data[at + i] = b }
            return "\(name): element at byte \(at) -> \(v)"
        }
    }

    func testMutatedHead2023SafetensorsConvertsOrThrowsACode() throws {
        let scratch = try Scratch()
        defer { scratch.cleanUp() }
        let original = try SafetensorsParts(Array(try Data(contentsOf: URL(fileURLWithPath: Fixtures.torchL2HMC("head2023.safetensors")))))
        let options = try Self.fuzzOptions()
        var tally = Tally()
        let start = Date()
        while Date().timeIntervalSince(start) < Self.seconds || tally.cases < Self.minCases {
            var rng = SplitMix64(seed: Self.runSeed &+ UInt64(tally.cases) &* 0x9E37_79B9_7F4A_7C15)
            var parts = original
            var description = Self.mutate(&parts, &rng)
            if rng.int(3) == 0 { description += "; " + Self.mutate(&parts, &rng) }
            let label = "case \(tally.cases) (L2HMC_FUZZ_SEED=\(Self.runSeed)): \(description)"
            let file = scratch.file("case.safetensors")
            try Data(try parts.encoded()).write(to: URL(fileURLWithPath: file))
            tally.run(label) { _ = try Converter.convert(path: file, options: options) }
        }
        tally.report("TorchL2HMCFuzzTests (head2023.safetensors)", seconds: Date().timeIntervalSince(start))
        XCTAssertGreaterThanOrEqual(tally.cases, Self.minCases)
        XCTAssertGreaterThanOrEqual(tally.codes.count, 4, "the mutations should reach several rules: \(tally.codes)")
    }

    // MARK: .pth

    func testMutatedModelPthConvertsOrThrowsACode() throws {
        let scratch = try Scratch()
        defer { scratch.cleanUp() }
        let zip = try ZipArchive(path: Fixtures.torchL2HMC("model-1-0-5-2026-11-26-120000.pth"))
        let members = try zip.names.map { ($0, try zip.read($0)) }
        let storages = members.indices.filter { members[$0].0.contains("/data/") }
        let pickle = try XCTUnwrap(members.firstIndex { $0.0.hasSuffix("/data.pkl") })
        let options = try Self.fuzzOptions()
        var tally = Tally()
        let start = Date()
        while Date().timeIntervalSince(start) < Self.seconds || tally.cases < Self.minCases {
            var rng = SplitMix64(seed: Self.runSeed &+ 0x5054_4800 &+ UInt64(tally.cases) &* 0x9E37_79B9_7F4A_7C15)
            var rebuilt = members
            let description: String
            switch rng.int(3) {
            case 0:
                var bytes = rebuilt[pickle].1
                for _ in 0...rng.int(4) { bytes[rng.int(bytes.count)] = UInt8(truncatingIfNeeded: rng.next()) }
                rebuilt[pickle].1 = bytes
                description = "data.pkl bytes overwritten"
            case 1:
                let s = storages[rng.int(storages.count)]
                var bytes = rebuilt[s].1
                let at = 4 * rng.int(bytes.count / 4)
                let v = Float(Self.interesting[rng.int(Self.interesting.count)])
                for (i, b) in withUnsafeBytes(of: v.bitPattern.littleEndian, Array.init).enumerated() where at + i < bytes.count { bytes[at + i] = b }
                rebuilt[s].1 = bytes
                description = "\(rebuilt[s].0): float at \(at) -> \(v)"
            default:
                let s = storages[rng.int(storages.count)]
                rebuilt[s].1 = Array(rebuilt[s].1.prefix(rng.int(rebuilt[s].1.count)))
                description = "\(rebuilt[s].0) cut to \(rebuilt[s].1.count) bytes"
            }
            let label = "case \(tally.cases) (L2HMC_FUZZ_SEED=\(Self.runSeed)): \(description)"
            let archive = try LibZip.buildArchive(rebuilt.map { LibZip.Member(name: $0.0, data: $0.1, alignment: 64) })
            let file = scratch.file("case.pth")
            try Data(archive).write(to: URL(fileURLWithPath: file))
            tally.run(label) { _ = try Converter.convert(path: file, options: options) }
        }
        tally.report("TorchL2HMCFuzzTests (model .pth)", seconds: Date().timeIntervalSince(start))
        XCTAssertGreaterThanOrEqual(tally.cases, Self.minCases)
        XCTAssertGreaterThan(tally.codes.count, 2, "the mutations should reach several rules: \(tally.codes)")
    }

    // MARK: Fact readers

    /// Mutated hydra YAML: lines dropped, duplicated or re-indented, YAML-significant characters
    /// inserted, values replaced by other scalar forms. Contract: statements or a ConvertError.
    func testMutatedHydraConfigGivesStatementsOrACode() throws {
        let text = try String(contentsOfFile: Fixtures.torchL2HMC("head2023-config.yaml"), encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let specials: [String] = [":", "-", "[", "]", "{", "}", "&a", "*a", "!!int", "!!str", "'", "\"", "#", "\t", "|", ">", "%", "? ", ",", "\\", "\u{0}", "é", "8", "\n"]
        let scalars = ["true", "false", "yes", "null", "~", "8", "8.0", "\"8\"", "-8", "0", "1e999", "99999999999999999999", ".nan", ".inf", "[]", "{}",
                       "[4, 4]", "[4.0, 4]", "[4, 4, 4]", "leaky_relu", "elu", "SU3", "tensorflow", "[8, 8]", "[8, -8]", "[]", "6", "6.5", "0x10"]
        var tally = Tally()
        let start = Date()
        while Date().timeIntervalSince(start) < Self.seconds {
            var rng = SplitMix64(seed: Self.runSeed &+ 0x5941_4D4C &+ UInt64(tally.cases) &* 0x9E37_79B9_7F4A_7C15)
            var ls = lines
            var description: [String] = []
            for _ in 0...rng.int(3) {
                let i = rng.int(ls.count)
                switch rng.int(5) {
                case 0: ls.remove(at: i); description.append("drop line \(i + 1)")
                case 1: ls.insert(ls[i], at: i); description.append("duplicate line \(i + 1)")
                case 2: ls[i] = String(repeating: " ", count: rng.int(5)) + ls[i].drop { $0 == " " }; description.append("reindent line \(i + 1)")
                case 3:
                    var chars = Array(ls[i])
                    let s = specials[rng.int(specials.count)]
                    chars.insert(contentsOf: s, at: rng.int(chars.count + 1))
                    ls[i] = String(chars); description.append("insert \(s.debugDescription) in line \(i + 1)")
                default:
                    guard let colon = ls[i].firstIndex(of: ":") else { continue }
                    let v = scalars[rng.int(scalars.count)]
                    ls[i] = String(ls[i][...colon]) + " " + v; description.append("line \(i + 1) value -> \(v)")
                }
            }
            let label = "case \(tally.cases) (L2HMC_FUZZ_SEED=\(Self.runSeed)): \(description.joined(separator: "; "))"
            let yaml = ls.joined(separator: "\n")
            tally.run(label) {
                let s = try HydraConfig.statements(yaml: yaml, name: "config.yaml", path: "config.yaml")
                _ = try s.apply(to: Facts())
            }
        }
        tally.report("TorchL2HMCFuzzTests (hydra YAML)", seconds: Date().timeIntervalSince(start))
        XCTAssertGreaterThan(tally.cases, 100)
        XCTAssertGreaterThan(tally.converted, 0, "some mutations leave a valid config")
    }

    /// Mutated `__metadata__` of an export (shared2022 converted, then exported): values replaced
    /// by other facts' values or cut, keys dropped; converted back with no option.
    func testMutatedExportMetadataConvertsOrThrowsACode() throws {
        let scratch = try Scratch()
        defer { scratch.cleanUp() }
        let model = try Converter.convert(path: Fixtures.torchL2HMC("shared2022.pt"), options: options(preset: "torch-2022-12", [(.masks, Fixtures.torchL2HMC("shared2022-masks.npy"))]) {
            $0.configPath = Fixtures.torchL2HMC("shared2022-config.yaml")
        }).model
        let original = try SafetensorsParts(try TorchExport.encode(model, sourceSHA256: nil))
        let meta = try XCTUnwrap(original.header["__metadata__"] as? [String: String])
        let keys = meta.keys.sorted(), values = Array(Set(meta.values)).sorted()
        var tally = Tally()
        let start = Date()
        while Date().timeIntervalSince(start) < Self.seconds || tally.cases < Self.minCases {
            var rng = SplitMix64(seed: Self.runSeed &+ 0x4D45_5441 &+ UInt64(tally.cases) &* 0x9E37_79B9_7F4A_7C15)
            var m = meta
            var description: [String] = []
            for _ in 0...rng.int(2) {
                let key = keys[rng.int(keys.count)]
                switch rng.int(4) {
                case 0: m[key] = nil; description.append("drop \(key)")
                case 1: let v = values[rng.int(values.count)]; m[key] = v; description.append("\(key) = \(v.prefix(40))")
                case 2: let v = m[key] ?? ""; let cut = String(v.prefix(rng.int(v.count + 1))); m[key] = cut; description.append("\(key) cut to \(cut.prefix(40))")
                default:
                    var chars = Array(m[key] ?? "")
                    let c: Character = ["0", "1", ";", ",", "x", "-", ".", "e", " ", "9"][rng.int(10)]
                    if chars.isEmpty { chars = [c] } else { chars[rng.int(chars.count)] = c }
                    m[key] = String(chars); description.append("\(key) char -> \(c)")
                }
            }
            var parts = original
            parts.header["__metadata__"] = m
            let label = "case \(tally.cases) (L2HMC_FUZZ_SEED=\(Self.runSeed)): \(description.joined(separator: "; "))"
            let file = scratch.file("case.safetensors")
            try Data(try parts.encoded()).write(to: URL(fileURLWithPath: file))
            tally.run(label) { _ = try Converter.convert(path: file, options: ConversionOptions()) }
        }
        tally.report("TorchL2HMCFuzzTests (export metadata)", seconds: Date().timeIntervalSince(start))
        XCTAssertGreaterThanOrEqual(tally.cases, Self.minCases)
        XCTAssertGreaterThanOrEqual(tally.codes.count, 2, "\(tally.codes)")
    }
}

import Foundation
import XCTest
@testable import ModelFormat

/// Malformed-file table (in the style of llama.cpp's test-gguf): each case takes the bytes of a
/// valid `.l2z` file written by ``L2ZWriter`` and corrupts them in one specific way; the reader
/// must refuse the result with exactly the stable error code listed, never crash, never return a
/// partial model. A few cases are positive controls (`expected == nil`) that must load.
final class MalformedInputTests: XCTestCase {

    // MARK: Fixtures

    /// A valid model and the exact bytes the writer produced for it.
    struct Fixture {
        let model: L2ZModel
        let bytes: [UInt8]

        /// Byte surgery on a copy of the valid file.
        func edit(_ body: (inout [UInt8]) throws -> Void) rethrows -> [UInt8] {
            var b = bytes
            try body(&b)
            return b
        }

        /// Takes the valid file apart, edits its members, rebuilds it with the library's zip writer.
        func parts(alignment: Int? = NpyCodec.headerAlignment, _ body: (inout ZipSurgery.Parts) throws -> Void) throws -> [UInt8] {
            var p = try ZipSurgery.Parts(bytes: bytes)
            try body(&p)
            return try p.build(alignment: alignment)
        }

        /// Edits the model and writes it WITHOUT validation; the manifest matches the arrays.
        func model(_ body: (inout L2ZModel) throws -> Void) throws -> [UInt8] {
            var m = model
            try body(&m)
            return try ZipSurgery.Parts(unvalidated: m).build()
        }

        /// Sets (nil: removes) one manifest value; everything else stays valid.
        func manifest(_ path: [String], _ value: JSONValue?) throws -> [UInt8] {
            try parts { try $0.setManifest(path, value) }
        }

        /// Replaces one manifest value with raw JSON text.
        func manifestRaw(_ path: [String], _ raw: String) throws -> [UInt8] {
            try parts { try $0.setManifestRaw(path, raw) }
        }

        /// Replaces the whole manifest member with these bytes.
        func manifestBytes(_ body: ([UInt8]) -> [UInt8]) throws -> [UInt8] {
            try parts { $0[member: L2ZReader.manifestMemberName] = body($0[member: L2ZReader.manifestMemberName]!) }
        }

        /// Replaces the data of member `name.npy` (header included) and rebuilds; the manifest is unchanged.
        func npy(_ name: String, _ data: [UInt8]) throws -> [UInt8] {
            try parts { $0[member: name + ".npy"] = data }
        }

        /// Edits the raw `.npy` bytes of array `name` and rebuilds.
        func npy(_ name: String, edit: (inout [UInt8]) -> Void) throws -> [UInt8] {
            try parts {
                var d = $0[member: name + ".npy"]!
                edit(&d)
                $0[member: name + ".npy"] = d
            }
        }

        func doubles(_ name: String) -> [Double] { model.arrays[name]!.doubles() }
    }

    struct Fixtures {
        /// U(1) 2x2 lattice (8 links), N_LF 2, ncp, shared networks, hidden [4].
        let u1: Fixture
        /// The same with one set of networks per leapfrog step.
        let perStep: Fixture
        /// Two-component Gaussian mixture in R^2, linear x update.
        let gmm: Fixture
        /// The U(1) model with a probe (vnet.0 and xnet.0 heads, one trajectory, batch 2).
        let probe: Fixture
    }

    static func u1Sampler(_ layout: NetworkLayout) -> SamplerSpec {
        SamplerSpec(target: .u1(U1Lattice(lt: 2, lx: 2, beta: 1.0)),
                    dynamics: Dynamics(nLF: 2, xUpdate: .ncp),
                    network: NetworkSpec(layout: layout, xNetInput: .raw, vNetInput: .raw, maskPlacement: nil,
                                         timeInput: false, hiddenUnits: [4]))
    }

    static func gmmSampler() -> SamplerSpec {
        let mixture = GaussianMixture(dimension: 2, weights: [0.25, 0.75], means: [[1, 0], [-1, 0.5]],
                                      covariances: [[[1, 0], [0, 1]], [[0.5, 0.1], [0.1, 0.5]]])
        return SamplerSpec(target: .gaussianMixture(mixture), dynamics: Dynamics(nLF: 2, xUpdate: .linear),
                           network: NetworkSpec(layout: .shared, xNetInput: .raw, vNetInput: .raw, maskPlacement: nil,
                                                timeInput: false, hiddenUnits: [4]))
    }

    static func withProbe(_ base: L2ZModel) throws -> L2ZModel {
        var m = base
        let probe = ProbeSpec(batch: 2, networks: ["vnet.0", "xnet.0"], trajectory: true,
                              headsTolerance: Tolerance(abs: 1e-12, rel: 1e-10),
                              trajectoryTolerance: Tolerance(abs: 1e-10, rel: 1e-9),
                              logDetTolerance: Tolerance(abs: 1e-10, rel: 1e-9))
        m.probe = probe
        var rng = SplitMix64(seed: 11)
        let expected = SamplerRules.expectedArrays(try m.sampler, probe: probe)
        for name in expected.keys.sorted() where expected[name]!.role == .probe {
            let shape = expected[name]!.shape
            let count = shape.reduce(1, *)
            let values = name == "probe.trajectory.direction"
                ? (0..<count).map { $0 % 2 == 0 ? 1.0 : -1.0 }
                : (0..<count).map { _ in rng.uniform() * 2 - 1 }
            m.arrays[name] = try NDArray(shape: shape, doubles: values)
        }
        return m
    }

    nonisolated(unsafe) private static var cachedFixtures: Fixtures?

    static func fixtures() throws -> Fixtures {
        if let f = cachedFixtures { return f }
        func fixture(_ model: L2ZModel) throws -> Fixture { Fixture(model: model, bytes: try L2ZWriter.encode(model)) }
        let u1 = try RandomModel.make(sampler: u1Sampler(.shared), seed: 1)
        let f = Fixtures(u1: try fixture(u1),
                         perStep: try fixture(try RandomModel.make(sampler: u1Sampler(.perStep), seed: 2)),
                         gmm: try fixture(try RandomModel.make(sampler: gmmSampler(), seed: 3)),
                         probe: try fixture(try withProbe(u1)))
        cachedFixtures = f
        return f
    }

    // MARK: The table

    struct CorruptionCase {
        let name: String
        /// The exact `L2ZError.code` the reader must throw; nil means the file must load.
        let expected: String?
        let limits: ReadLimits
        let corrupt: (Fixtures) throws -> [UInt8]
    }

    static func limits(_ body: (inout ReadLimits) -> Void) -> ReadLimits {
        var l = ReadLimits()
        body(&l)
        return l
    }

    static func allCases() -> [CorruptionCase] {
        var cases: [CorruptionCase] = []
        func add(_ name: String, _ expected: String?, limits: ReadLimits = ReadLimits(), _ corrupt: @escaping (Fixtures) throws -> [UInt8]) {
            cases.append(CorruptionCase(name: name, expected: expected, limits: limits, corrupt: corrupt))
        }
        typealias Z = ZipSurgery
        let magic = ZipLayout.magicMemberName, manifest = L2ZReader.manifestMemberName

        // MARK: Container: not a zip at all
        add("empty file", "container.not_zip") { _ in [] }
        add("five random bytes", "container.not_zip") { _ in [0x13, 0x37, 0xC0, 0xDE, 0x42] }
        add("random bytes", "container.not_zip") { _ in
            var rng = SplitMix64(seed: 99)
            return (0..<4096).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        }
        add("bare .npy array", "container.not_zip") { f in f.u1.model.arrays["eps_x"].map(NpyCodec.encode)! }
        add("python pickle", "container.not_zip") { _ in
            // pickle protocol 4: PROTO 4, FRAME, EMPTY_DICT, MEMOIZE, ..., STOP
            [0x80, 0x04, 0x95, 0x1E, 0, 0, 0, 0, 0, 0, 0, 0x7D, 0x94, 0x8C, 0x05] + Array("eps_x".utf8)
                + [0x94, 0x47, 0x3F, 0xB9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9A, 0x73, 0x2E]
        }
        add("HDF5 file", "container.not_zip") { _ in [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A] + [UInt8](repeating: 0, count: 120) }
        add("empty zip archive (end record only)", "container.not_l2z") { _ in
            [0x50, 0x4B, 0x05, 0x06] + [UInt8](repeating: 0, count: 18)
        }

        // MARK: Container: truncation and stray bytes
        add("truncated to half", "container.truncated") { f in Array(f.u1.bytes.prefix(f.u1.bytes.count / 2)) }
        add("truncated by 1 byte", "container.truncated") { f in Array(f.u1.bytes.dropLast(1)) }
        add("truncated by 30 bytes", "container.truncated") { f in Array(f.u1.bytes.dropLast(30)) }
        add("truncated to 20 bytes", "container.truncated") { f in Array(f.u1.bytes.prefix(20)) }
        add("truncated inside the central directory", "container.truncated") { f in
            let cd = Z.u32(f.u1.bytes, Z.endRecord(f.u1.bytes) + Z.EndRecord.centralDirectoryOffset)
            return Array(f.u1.bytes.prefix(cd + 50))
        }
        add("16 bytes prepended", "container.bytes_outside_archive") { f in [UInt8](repeating: 0x7F, count: 16) + f.u1.bytes }
        add("1 byte appended", "container.bytes_outside_archive") { f in f.u1.bytes + [0] }
        add("100 bytes appended", "container.bytes_outside_archive") { f in f.u1.bytes + [UInt8](repeating: 0x41, count: 100) }
        add("archive comment", "container.archive_comment") { f in
            f.u1.edit { b in
                Z.patchU16(&b, Z.endRecord(b) + Z.EndRecord.commentLength, 7)
                b += Array("comment".utf8)
            }
        }
        add("comment length set, comment missing", "container.archive_comment") { f in
            f.u1.edit { b in Z.patchU16(&b, Z.endRecord(b) + Z.EndRecord.commentLength, 7) }
        }

        // MARK: Container: end record and central directory
        add("central directory offset out of bounds", "container.central_directory") { f in
            f.u1.edit { b in Z.patchU32(&b, Z.endRecord(b) + Z.EndRecord.centralDirectoryOffset, b.count + 1000) }
        }
        add("central directory size too large", "container.central_directory") { f in
            f.u1.edit { b in
                let o = Z.endRecord(b) + Z.EndRecord.centralDirectorySize
                Z.patchU32(&b, o, Z.u32(b, o) + 1)
            }
        }
        add("central directory offset one byte early", "container.central_directory") { f in
            f.u1.edit { b in
                let e = Z.endRecord(b)
                Z.patchU32(&b, e + Z.EndRecord.centralDirectoryOffset, Z.u32(b, e + Z.EndRecord.centralDirectoryOffset) - 1)
                Z.patchU32(&b, e + Z.EndRecord.centralDirectorySize, Z.u32(b, e + Z.EndRecord.centralDirectorySize) + 1)
            }
        }
        add("end record counts one entry too few", "container.central_directory") { f in
            f.u1.edit { b in
                let e = Z.endRecord(b), n = Z.u16(b, e + Z.EndRecord.entries)
                Z.patchU16(&b, e + Z.EndRecord.entries, n - 1); Z.patchU16(&b, e + Z.EndRecord.entriesOnDisk, n - 1)
            }
        }
        add("multi-disk archive", "container.central_directory") { f in
            f.u1.edit { b in Z.patchU16(&b, Z.endRecord(b) + Z.EndRecord.disk, 1) }
        }
        add("central header signature broken", "container.central_directory") { f in
            try f.u1.edit { b in b[try Z.entry(b, "eps_x.npy").central] = 0x51 }
        }
        add("local header signature broken", "container.central_directory") { f in
            try f.u1.edit { b in b[try Z.entry(b, manifest).local + 1] = 0x51 }
        }
        add("local header offset points into the central directory", "container.central_directory") { f in
            try f.u1.edit { b in
                let e = try Z.entry(b, "eps_x.npy")
                Z.patchU32(&b, e.central + Z.Central.localHeaderOffset, Z.u32(b, Z.endRecord(b) + Z.EndRecord.centralDirectoryOffset))
            }
        }

        // MARK: Container: central entry versus local header
        add("local header size differs", "container.local_header_mismatch") { f in
            try f.u1.edit { b in
                let e = try Z.entry(b, manifest)
                Z.patchU32(&b, e.local + Z.Local.size, e.size + 1)
            }
        }
        add("local header compressed size differs", "container.local_header_mismatch") { f in
            try f.u1.edit { b in
                let e = try Z.entry(b, "masks.npy")
                Z.patchU32(&b, e.local + Z.Local.compressedSize, e.size - 1)
            }
        }
        add("local header CRC differs", "container.local_header_mismatch") { f in
            try f.u1.edit { b in
                let e = try Z.entry(b, "eps_v.npy")
                Z.patchU32(&b, e.local + Z.Local.crc, Z.u32(b, e.local + Z.Local.crc) ^ 1)
            }
        }
        add("local header name differs", "container.local_header_mismatch") { f in
            try f.u1.edit { b in
                let e = try Z.entry(b, "eps_v.npy")
                b[e.local + Z.Local.name + 4] = UInt8(ascii: "w")
            }
        }
        add("local header method differs", "container.local_header_mismatch") { f in
            try f.u1.edit { b in Z.patchU16(&b, try Z.entry(b, "eps_v.npy").local + Z.Local.method, 8) }
        }

        // MARK: Container: forbidden zip features
        add("data descriptor flag", "container.unsupported_feature") { f in
            try f.u1.edit { b in try Z.patchBothU16(&b, "eps_x.npy", central: Z.Central.flags, local: Z.Local.flags, 0x0008) }
        }
        add("encryption flag", "container.unsupported_feature") { f in
            try f.u1.edit { b in try Z.patchBothU16(&b, manifest, central: Z.Central.flags, local: Z.Local.flags, 0x0001) }
        }
        add("strong encryption flag", "container.unsupported_feature") { f in
            try f.u1.edit { b in try Z.patchBothU16(&b, "masks.npy", central: Z.Central.flags, local: Z.Local.flags, 0x0041) }
        }
        add("deflated member (method 8)", "container.compressed_member") { f in
            try f.u1.edit { b in try Z.patchBothU16(&b, "eps_x.npy", central: Z.Central.method, local: Z.Local.method, 8) }
        }
        add("deflate bomb: method 8 declaring 4 GiB", "container.compressed_member") { f in
            try f.u1.edit { b in
                try Z.patchBothU16(&b, "eps_x.npy", central: Z.Central.method, local: Z.Local.method, 8)
                try Z.patchBothU32(&b, "eps_x.npy", central: Z.Central.size, local: Z.Local.size, 0xFFFF_FFFE)
            }
        }
        add("bzip2 member (method 12)", "container.compressed_member") { f in
            try f.u1.edit { b in try Z.patchBothU16(&b, manifest, central: Z.Central.method, local: Z.Local.method, 12) }
        }
        add("zip64: central directory offset 0xFFFFFFFF", "container.unsupported_feature") { f in
            f.u1.edit { b in Z.patchU32(&b, Z.endRecord(b) + Z.EndRecord.centralDirectoryOffset, 0xFFFF_FFFF) }
        }
        add("zip64: entry count 0xFFFF", "container.unsupported_feature") { f in
            f.u1.edit { b in
                Z.patchU16(&b, Z.endRecord(b) + Z.EndRecord.entries, 0xFFFF); Z.patchU16(&b, Z.endRecord(b) + Z.EndRecord.entriesOnDisk, 0xFFFF)
            }
        }
        add("zip64: member sizes 0xFFFFFFFF", "container.unsupported_feature") { f in
            try f.u1.edit { b in
                try Z.patchBothU32(&b, "eps_x.npy", central: Z.Central.size, local: Z.Local.size, 0xFFFF_FFFF)
                try Z.patchBothU32(&b, "eps_x.npy", central: Z.Central.compressedSize, local: Z.Local.compressedSize, 0xFFFF_FFFF)
            }
        }
        add("zip64: end-of-central-directory locator", "container.unsupported_feature") { f in
            let e = Z.endRecord(f.u1.bytes)
            let locator: [UInt8] = [0x50, 0x4B, 0x06, 0x07] + [UInt8](repeating: 0, count: 16)
            return Array(f.u1.bytes[..<e]) + locator + Array(f.u1.bytes[e...])
        }
        add("central entry comment", "container.unsupported_feature") { f in
            try f.u1.edit { b in try Z.insertIntoCentral(&b, "eps_x.npy", comment: Array("note".utf8)) }
        }
        // An Info-ZIP Unicode Path field (0x7075) naming "../../evil.npy" in the central entry only:
        // tools honouring it would extract elsewhere. libzip finds central and local inconsistent.
        add("central-only Unicode Path extra field", "container.unsupported_feature") { f in
            try f.u1.edit { b in
                let crc = Z.crc32(Array("eps_x.npy".utf8))
                let payload = [1] + (0..<4).map { UInt8((crc >> (8 * UInt32($0))) & 0xFF) } + Array("../../evil.npy".utf8)
                try Z.insertIntoCentral(&b, "eps_x.npy", extra: [0x75, 0x70, UInt8(payload.count), 0] + payload)
            }
        }
        add("too many entries", "container.too_many_entries", limits: limits { $0.maxEntries = 5 }) { f in f.u1.bytes }

        // MARK: Container: member layout
        add("overlapping members", "container.overlapping_members") { f in
            try f.u1.edit { b in
                let e = try Z.entry(b, manifest)
                try Z.patchBothU32(&b, manifest, central: Z.Central.size, local: Z.Local.size, e.size + 1)
                try Z.patchBothU32(&b, manifest, central: Z.Central.compressedSize, local: Z.Local.compressedSize, e.size + 1)
            }
        }
        add("gap between members", "container.bytes_outside_archive") { f in
            try f.u1.edit { b in
                // Shrink the alignment extra field: the data starts 4 bytes early, 4 bytes belong to nothing.
                let e = try Z.entry(b, "eps_x.npy")
                Z.patchU16(&b, e.local + Z.Local.extraLength, Z.u16(b, e.local + Z.Local.extraLength) - 4)
            }
        }
        add("misaligned array data", "container.misaligned_data") { f in try f.u1.parts(alignment: nil) { _ in } }

        // MARK: Container: member names
        add("duplicate member name", "container.duplicate_member") { f in
            try f.u1.edit { b in try Z.rename(&b, "eps_v.npy", to: "eps_x.npy") }
        }
        add("duplicate after case folding", "container.duplicate_member") { f in
            try f.u1.edit { b in try Z.rename(&b, "eps_v.npy", to: "EPS_X.npy") }
        }
        add("upper-case array member", "container.invalid_member_name") { f in
            try f.u1.edit { b in try Z.rename(&b, "eps_v.npy", to: "EPS_V.npy") }
        }
        add("path traversal name", "container.invalid_member_name") { f in
            try f.u1.edit { b in try Z.rename(&b, "eps_v.npy", to: "../_v.npy") }
        }
        add("'.' path segment", "container.invalid_member_name") { f in
            try f.u1.edit { b in try Z.rename(&b, "eps_v.npy", to: "./eps.npy") }
        }
        add("absolute name", "container.invalid_member_name") { f in
            try f.u1.edit { b in try Z.rename(&b, "eps_v.npy", to: "/ps_v.npy") }
        }
        add("backslash name", "container.invalid_member_name") { f in
            try f.u1.edit { b in try Z.rename(&b, "eps_v.npy", to: "eps\\v.npy") }
        }
        add("control byte in name", "container.invalid_member_name") { f in
            try f.u1.edit { b in try Z.rename(&b, "eps_v.npy", to: "eps\u{01}v.npy") }
        }
        add("non-ASCII name", "container.invalid_member_name") { f in
            try f.u1.edit { b in try Z.rename(&b, "eps_v.npy", to: "eps\u{E9}.npy") }
        }
        add("directory entry (name ends in '/')", "container.unexpected_member") { f in
            try f.u1.edit { b in try Z.rename(&b, "eps_v.npy", to: "eps_v.np/") }
        }
        add("directory entry (external attributes)", "container.unexpected_member") { f in
            try f.u1.edit { b in Z.patchU32(&b, try Z.entry(b, "eps_v.npy").central + Z.Central.externalAttributes, 0o040755 << 16) }
        }
        add("symbolic link entry", "container.unexpected_member") { f in
            try f.u1.edit { b in Z.patchU32(&b, try Z.entry(b, "eps_v.npy").central + Z.Central.externalAttributes, 0o120777 << 16) }
        }
        add("extra non-.npy member", "container.unexpected_member") { f in
            try f.u1.parts { $0[member: "notes.txt"] = Array("hello\n".utf8) }
        }
        add("member 'eps_x' next to 'eps_x.npy'", "container.unexpected_member") { f in
            try f.u1.parts { $0[member: "eps_x"] = $0[member: "eps_x.npy"] }
        }

        // MARK: Container: integrity and the format marker
        add("CRC flip (data byte changed, CRC not fixed)", "container.crc_mismatch") { f in
            try f.u1.edit { b in try Z.editData(&b, "eps_x.npy", fixCRC: false) { $0[$0.count - 1] ^= 0x01 } }
        }
        add("data flip with CRC fixed (SHA-256 catches it)", "array.checksum_mismatch") { f in
            try f.u1.edit { b in try Z.editData(&b, "eps_x.npy", fixCRC: true) { $0[$0.count - 1] ^= 0x01 } }
        }
        add("magic member renamed", "container.not_l2z") { f in
            try f.u1.edit { b in try Z.rename(&b, magic, to: "l2z.magix") }
        }
        add("magic content changed (CRC fixed)", "container.not_l2z") { f in
            try f.u1.edit { b in try Z.editData(&b, magic, fixCRC: true) { $0[0] = UInt8(ascii: "L") } }
        }
        add("manifest before the magic member", "container.not_l2z") { f in
            try f.u1.parts { $0.members.swapAt(0, 1) }
        }
        add("magic member missing", "container.not_l2z") { f in try f.u1.parts { $0[member: magic] = nil } }
        add("file larger than the limit", "container.file_too_large", limits: limits { $0.maxFileBytes = 1000 }) { f in f.u1.bytes }

        // MARK: Manifest: bytes and JSON
        add("manifest missing", "manifest.missing") { f in try f.u1.parts { $0[member: manifest] = nil } }
        add("manifest not UTF-8", "manifest.not_utf8") { f in
            try f.u1.parts {
                try $0.setManifest(["provenance", "source"], .string("@@@"))
                var m = $0[member: manifest]!
                let at = m.firstIndex(of: UInt8(ascii: "@"))!
                m.replaceSubrange(at..<(at + 3), with: [0xC3, 0x28, 0x41])
                $0[member: manifest] = m
            }
        }
        add("manifest with overlong UTF-8", "manifest.not_utf8") { f in
            try f.u1.manifestBytes { m in
                var m = m
                m.insert(contentsOf: [0xC0, 0xAF], at: m.firstIndex(of: UInt8(ascii: "l"))!)  // inside a string
                return m
            }
        }
        add("manifest is empty", "manifest.invalid_json") { f in try f.u1.manifestBytes { _ in [] } }
        add("manifest truncated JSON", "manifest.invalid_json") { f in try f.u1.manifestBytes { Array($0.dropLast(3)) } }
        add("manifest trailing comma", "manifest.invalid_json") { f in try f.u1.manifestRaw(["target", "lt"], "2,") }
        add("manifest trailing content", "manifest.invalid_json") { f in try f.u1.manifestBytes { $0 + Array("{}".utf8) } }
        add("manifest with byte order mark", "manifest.invalid_json") { f in try f.u1.manifestBytes { [0xEF, 0xBB, 0xBF] + $0 } }
        add("manifest duplicate key", "manifest.duplicate_key") { f in try f.u1.manifestRaw(["target", "lt"], "2, \"lt\": 2") }
        add("manifest NaN literal", "manifest.non_finite_number") { f in try f.u1.manifestRaw(["target", "beta"], "NaN") }
        add("manifest -Infinity literal", "manifest.non_finite_number") { f in try f.u1.manifestRaw(["net_weights", "v_scale"], "-Infinity") }
        add("manifest huge number 1e400", "manifest.number_out_of_range") { f in try f.u1.manifestRaw(["target", "beta"], "1e400") }
        add("manifest huge integer", "manifest.number_out_of_range") { f in try f.u1.manifestRaw(["target", "lt"], "99999999999999999999") }
        add("manifest too deep", "manifest.too_deep") { f in
            try f.u1.manifestRaw(["x-deep"], String(repeating: "[", count: 40) + String(repeating: "]", count: 40))
        }
        add("manifest too large", "manifest.too_large", limits: limits { $0.maxManifestBytes = 256 }) { f in f.u1.bytes }
        add("manifest root is an array", "manifest.wrong_type") { f in try f.u1.manifestBytes { _ in Array("[]\n".utf8) } }

        // MARK: Manifest: identity and versions
        add("wrong format name", "manifest.wrong_format") { f in try f.u1.manifest(["format"], .string("npz")) }
        add("format missing", "manifest.missing_field") { f in try f.u1.manifest(["format"], nil) }
        add("format not a string", "manifest.wrong_type") { f in try f.u1.manifest(["format"], .int(1)) }
        add("unknown major version 2.0", "manifest.unsupported_version") { f in try f.u1.manifest(["format_version"], .string("2.0")) }
        add("unknown major version 0.9", "manifest.unsupported_version") { f in try f.u1.manifest(["format_version"], .string("0.9")) }
        for bad in ["1", "1.0.0", "01.0", "v1.0", "1.", ".0", "1.x", "", " 1.0", "1.00001", "+1.0"] {
            add("malformed version \"\(bad)\"", "manifest.malformed_version") { f in try f.u1.manifest(["format_version"], .string(bad)) }
        }
        add("version is a number", "manifest.wrong_type") { f in try f.u1.manifest(["format_version"], .double(1.0)) }
        add("newer minor 1.7 with unknown required feature", "manifest.unknown_required_feature") { f in
            try f.u1.parts {
                try $0.setManifest(["format_version"], .string("1.7"))
                try $0.setManifest(["required_features"], .array([.string("ncp_x_update"), .string("quantum_links")]))
            }
        }
        add("newer minor 1.7 with unknown keys only (loads)", nil) { f in
            try f.u1.parts {
                try $0.setManifest(["format_version"], .string("1.7"))
                try $0.setManifest(["new_root_field"], .int(1))
                try $0.setManifest(["target", "new_target_field"], .string("ignored"))
                try $0.setManifest(["arrays", "eps_x", "new_entry_field"], .bool(true))
            }
        }
        add("unknown required feature in 1.0", "manifest.unknown_required_feature") { f in
            try f.u1.manifest(["required_features"], .array([.string("ncp_x_update"), .string("quantum_links")]))
        }
        add("required feature not listed", "manifest.invalid_value") { f in try f.u1.manifest(["required_features"], .array([])) }
        add("required feature listed twice", "manifest.invalid_value") { f in
            try f.u1.manifest(["required_features"], .array([.string("ncp_x_update"), .string("ncp_x_update")]))
        }
        add("unsupported architecture name", "manifest.unsupported_architecture") { f in
            try f.u1.manifest(["architecture", "name"], .string("a_nice_mcmc"))
        }
        add("unsupported architecture version", "manifest.unsupported_architecture") { f in
            try f.u1.manifest(["architecture", "version"], .int(2))
        }

        // MARK: Manifest: fields
        add("unknown key at the root", "manifest.unknown_key") { f in try f.u1.manifest(["colour"], .string("blue")) }
        add("unknown key in target", "manifest.unknown_key") { f in try f.u1.manifest(["target", "colour"], .string("blue")) }
        add("unknown key in an array entry", "manifest.unknown_key") { f in try f.u1.manifest(["arrays", "masks", "order"], .string("C")) }
        add("x- extension key at the root (loads)", nil) { f in try f.u1.manifest(["x-foo"], .object(["bar": .int(1)])) }
        // Extensions live only at the root (a nested x- key could not be kept when the model is rewritten).
        add("x- key nested in target", "manifest.unknown_key") { f in try f.u1.manifest(["target", "x-note"], .string("hi")) }
        add("missing dynamics", "manifest.missing_field") { f in try f.u1.manifest(["dynamics"], nil) }
        add("missing target.beta", "manifest.missing_field") { f in try f.u1.manifest(["target", "beta"], nil) }
        add("missing provenance.producer", "manifest.missing_field") { f in try f.u1.manifest(["provenance", "producer"], nil) }
        add("lattice size is a string", "manifest.wrong_type") { f in try f.u1.manifest(["target", "lt"], .string("2")) }
        add("n_lf is 2.0", "manifest.wrong_type") { f in try f.u1.manifest(["dynamics", "n_lf"], .double(2.0)) }
        add("time_input is 0", "manifest.wrong_type") { f in try f.u1.manifest(["network", "time_input"], .int(0)) }
        add("negative lattice size", "manifest.invalid_value") { f in try f.u1.manifest(["target", "lt"], .int(-2)) }
        add("lattice size 0", "manifest.invalid_value") { f in try f.u1.manifest(["target", "lx"], .int(0)) }
        add("n_lf 0", "manifest.invalid_value") { f in try f.u1.manifest(["dynamics", "n_lf"], .int(0)) }
        add("beta 0", "manifest.invalid_value") { f in try f.u1.manifest(["target", "beta"], .double(0)) }
        add("beta negative", "manifest.invalid_value") { f in try f.u1.manifest(["target", "beta"], .double(-1.5)) }
        add("translation_sign 0", "manifest.invalid_value") { f in try f.u1.manifest(["dynamics", "translation_sign"], .int(0)) }
        add("unknown target kind", "manifest.invalid_value") { f in try f.u1.manifest(["target", "kind"], .string("su3_4d")) }
        add("linear x update with x_scale 1 on U(1)", "manifest.invalid_value") { f in
            try f.u1.manifest(["dynamics", "x_update"], .string("linear"))
        }
        add("mixture weights do not sum to 1", "manifest.invalid_value") { f in
            try f.gmm.manifest(["target", "weights"], .array([.double(0.5), .double(0.6)]))
        }
        add("mixture covariance not positive definite", "manifest.invalid_value") { f in
            try f.gmm.manifest(["target", "covariances"], .array([
                .array([.array([.double(1), .double(0)]), .array([.double(0), .double(1)])]),
                .array([.array([.double(1), .double(2)]), .array([.double(2), .double(1)])]),
            ]))
        }
        add("array sha256 upper-case", "manifest.invalid_value") { f in
            let sha = SHA256Digest.hex(f.u1.model.arrays["eps_x"]!.bytes).uppercased()
            return try f.u1.manifest(["arrays", "eps_x", "sha256"], .string(sha))
        }
        add("array dtype unknown", "manifest.invalid_value") { f in try f.u1.manifest(["arrays", "eps_x", "dtype"], .string("complex128")) }
        add("array shape negative in manifest", "manifest.invalid_value") { f in
            try f.u1.manifest(["arrays", "eps_x", "shape"], .array([.int(-2)]))
        }
        add("invalid array name in manifest", "array.invalid_name") { f in
            try f.u1.parts {
                guard case let .object(root) = try $0.manifest, case let .object(arrays)? = root["arrays"], let entry = arrays["eps_x"] else {
                    throw ZipSurgery.SurgeryError(description: "manifest without arrays.eps_x")
                }
                try $0.setManifest(["arrays", "Eps_x"], entry)
            }
        }
        add("probe names an absent network", "manifest.invalid_value") { f in
            try f.probe.manifest(["probe", "networks"], .array([.string("vnet.0"), .string("vnet.7")]))
        }
        add("probe batch 0", "manifest.invalid_value") { f in try f.probe.manifest(["probe", "batch"], .int(0)) }
        add("probe present but feature not listed", "manifest.invalid_value") { f in
            try f.probe.manifest(["required_features"], .array([.string("ncp_x_update")]))
        }

        // MARK: Arrays: the .npy header
        add("npy bad magic", "array.bad_magic") { f in try f.u1.npy("eps_x") { $0[1] = UInt8(ascii: "M") } }
        add("npy member too short for a header", "array.bad_magic") { f in try f.u1.npy("eps_x", Array(NpyCodec.magic)) }
        add("npy version 2.0", "array.unsupported_npy_version") { f in try f.u1.npy("eps_x") { $0[6] = 2 } }
        add("npy version 1.1", "array.unsupported_npy_version") { f in try f.u1.npy("eps_x") { $0[7] = 1 } }
        add("npy header length 65535", "array.header_too_large") { f in try f.u1.npy("eps_x") { $0[8] = 0xFF; $0[9] = 0xFF } }
        add("npy header over the limit", "array.header_too_large", limits: limits { $0.maxNpyHeaderBytes = 32 }) { f in f.u1.bytes }
        add("npy header length past the member end", "array.malformed_header") { f in try f.u1.npy("eps_x") { $0[8] = 0x00; $0[9] = 0x08 } }
        add("npy header not a dict", "array.malformed_header") { f in try f.u1.npy("eps_x") { $0[10] = UInt8(ascii: "[") } }
        add("npy header with a control byte", "array.malformed_header") { f in try f.u1.npy("eps_x") { $0[12] = 0x07 } }
        add("npy header without final newline", "array.malformed_header") { f in
            try f.u1.npy("eps_x") { $0[10 + (Int($0[8]) | Int($0[9]) << 8) - 1] = UInt8(ascii: " ") }
        }
        let eps = { (f: Fixtures) in ZipSurgery.float64Bytes(f.u1.doubles("eps_x")) }
        add("npy header with an unknown key", "array.malformed_header") { f in
            try f.u1.npy("eps_x", ZipSurgery.npy(header: "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'align': 1, }", data: eps(f)))
        }
        add("npy header missing shape", "array.malformed_header") { f in
            try f.u1.npy("eps_x", ZipSurgery.npy(header: "{'descr': '<f8', 'fortran_order': False, }", data: eps(f)))
        }
        add("npy header with descr twice", "array.malformed_header") { f in
            try f.u1.npy("eps_x", ZipSurgery.npy(header: "{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", data: eps(f)))
        }
        add("npy object dtype |O", "array.unsupported_dtype") { f in
            try f.u1.npy("eps_x", ZipSurgery.npy(header: "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", data: eps(f)))
        }
        add("npy big-endian >f8", "array.unsupported_dtype") { f in
            try f.u1.npy("eps_x", ZipSurgery.npy(header: "{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }", data: eps(f)))
        }
        add("npy native-order =f8", "array.unsupported_dtype") { f in
            try f.u1.npy("eps_x", ZipSurgery.npy(header: "{'descr': '=f8', 'fortran_order': False, 'shape': (2,), }", data: eps(f)))
        }
        add("npy unicode string dtype <U2", "array.unsupported_dtype") { f in
            try f.u1.npy("eps_x", ZipSurgery.npy(header: "{'descr': '<U2', 'fortran_order': False, 'shape': (2,), }", data: eps(f)))
        }
        add("npy byte string dtype |S8", "array.unsupported_dtype") { f in
            try f.u1.npy("eps_x", ZipSurgery.npy(header: "{'descr': '|S8', 'fortran_order': False, 'shape': (2,), }", data: eps(f)))
        }
        add("npy float16 dtype <f2", "array.unsupported_dtype") { f in
            try f.u1.npy("eps_x", ZipSurgery.npy(header: "{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }", data: eps(f)))
        }
        // A structured descr is a list, not a string; the header parser refuses it as malformed.
        add("npy structured dtype", "array.malformed_header") { f in
            try f.u1.npy("eps_x", ZipSurgery.npy(header: "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (2,), }", data: eps(f)))
        }
        add("npy Fortran order", "array.fortran_order") { f in
            try f.u1.npy("masks", ZipSurgery.npy(header: "{'descr': '|u1', 'fortran_order': True, 'shape': (2, 8), }",
                                         data: f.u1.model.arrays["masks"]!.bytes))
        }
        // "-2" is not a non-negative integer literal to the header grammar: refused as malformed.
        add("npy negative shape", "array.malformed_header") { f in
            try f.u1.npy("eps_x", ZipSurgery.npy(header: "{'descr': '<f8', 'fortran_order': False, 'shape': (-2,), }", data: eps(f)))
        }
        add("npy float shape (2.5,)", "array.malformed_header") { f in
            try f.u1.npy("eps_x", ZipSurgery.npy(header: "{'descr': '<f8', 'fortran_order': False, 'shape': (2.5,), }", data: eps(f)))
        }
        add("npy shape (2) is not a tuple", "array.malformed_header") { f in
            try f.u1.npy("eps_x", ZipSurgery.npy(header: "{'descr': '<f8', 'fortran_order': False, 'shape': (2), }", data: eps(f)))
        }
        add("npy overflowing shape", "array.invalid_shape") { f in
            try f.u1.npy("eps_x", ZipSurgery.npy(header: "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", data: eps(f)))
        }
        add("npy shape over the element limit", "array.invalid_shape") { f in
            try f.u1.npy("eps_x", ZipSurgery.npy(header: "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000), }", data: eps(f)))
        }
        add("npy 16-digit dimension", "array.invalid_shape") { f in
            try f.u1.npy("eps_x", ZipSurgery.npy(header: "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000000,), }", data: eps(f)))
        }
        add("npy nine dimensions", "array.invalid_shape") { f in
            try f.u1.npy("eps_x", ZipSurgery.npy(header: "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 1, 1, 1, 1, 1, 1, 1, 1), }", data: eps(f)))
        }
        // 2^36 elements is within the default limit: refused by length before anything is allocated.
        add("npy declares 512 GiB of data", "array.truncated") { f in
            try f.u1.npy("eps_x", ZipSurgery.npy(header: "{'descr': '<f8', 'fortran_order': False, 'shape': (68719476736,), }", data: eps(f)))
        }
        add("npy declares more bytes than present", "array.truncated") { f in
            try f.u1.npy("eps_x", ZipSurgery.npy(header: "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", data: eps(f)))
        }
        add("npy data cut short", "array.truncated") { f in try f.u1.npy("eps_x") { $0.removeLast(3) } }
        add("npy trailing bytes", "array.trailing_bytes") { f in try f.u1.npy("eps_x") { $0 += [0, 0, 0, 0, 0, 0, 0, 0] } }

        // MARK: Arrays: agreement with the manifest
        add("manifest shape differs from npy", "array.shape_mismatch") { f in
            try f.u1.manifest(["arrays", "eps_x", "shape"], .array([.int(3)]))
        }
        add("manifest dtype differs from npy", "array.dtype_mismatch") { f in
            try f.u1.manifest(["arrays", "eps_x", "dtype"], .string("float32"))
        }
        add("manifest sha256 differs", "array.checksum_mismatch") { f in
            try f.u1.manifest(["arrays", "eps_x", "sha256"], .string(String(repeating: "ab", count: 32)))
        }
        add("array stored but not in manifest", "array.not_in_manifest") { f in
            try f.u1.parts { $0[member: "ext.notes.npy"] = NpyCodec.encode(try NDArray(shape: [3], uint8s: [1, 2, 3])) }
        }
        add("array in manifest but not stored", "array.missing") { f in try f.u1.parts { $0[member: "eps_v.npy"] = nil } }

        // MARK: Arrays: agreement with the architecture (manifest and members consistent)
        add("NaN weight", "array.non_finite") { f in
            try f.u1.model { m in
                var v = f.u1.doubles("vnet.0.x_layer.kernel"); v[5] = .nan
                m.arrays["vnet.0.x_layer.kernel"] = try NDArray(shape: [8, 4], doubles: v)
            }
        }
        add("infinite step size", "array.non_finite") { f in
            try f.u1.model { m in m.arrays["eps_v"] = try NDArray(shape: [2], doubles: [0.1, .infinity]) }
        }
        add("NaN in a float32 array", "array.non_finite") { f in
            try f.u1.model { m in m.arrays["xnet.0.scale.coeff"] = try NDArray(shape: [8], floats: [0, 0, 0, .nan, 0, 0, 0, 0]) }
        }
        add("required array missing everywhere", "array.missing") { f in try f.u1.model { m in m.arrays["xnet.0.scale.bias"] = nil } }
        add("unexpected extra array", "array.unexpected") { f in
            try f.u1.model { m in m.arrays["vnet.0.hidden1.kernel"] = try NDArray(shape: [4, 4], doubles: [Double](repeating: 0.1, count: 16)) }
        }
        add("step-1 networks in a shared model", "array.unexpected") { f in
            try f.u1.model { m in m.arrays["vnet.1.x_layer.bias"] = m.arrays["vnet.0.x_layer.bias"] }
        }
        add("per-step model missing step-1 kernel", "array.missing") { f in
            try f.perStep.model { m in m.arrays["xnet.1.translation.kernel"] = nil }
        }
        add("shape does not fit the architecture", "array.shape_mismatch") { f in
            try f.u1.model { m in m.arrays["eps_x"] = try NDArray(shape: [3], doubles: [0.1, 0.1, 0.1]) }
        }
        add("transposed kernel shape", "array.shape_mismatch") { f in
            try f.u1.model { m in m.arrays["vnet.0.x_layer.kernel"] = try NDArray(shape: [4, 8], doubles: f.u1.doubles("vnet.0.x_layer.kernel")) }
        }
        add("masks stored as float64", "array.dtype_mismatch") { f in
            try f.u1.model { m in m.arrays["masks"] = try NDArray(shape: [2, 8], doubles: m.arrays["masks"]!.doubles()) }
        }
        add("step sizes stored as int64", "array.dtype_mismatch") { f in
            try f.u1.model { m in m.arrays["eps_x"] = try NDArray(shape: [2], int64s: [1, 1]) }
        }
        add("mask value 2", "array.invalid_values") { f in
            try f.u1.model { m in
                var b = m.arrays["masks"]!.bytes; b[3] = 2
                m.arrays["masks"] = try NDArray(shape: [2, 8], uint8s: b)
            }
        }
        add("step size 0", "array.invalid_values") { f in try f.u1.model { m in m.arrays["eps_x"] = try NDArray(shape: [2], doubles: [0.1, 0]) } }
        add("step size negative", "array.invalid_values") { f in try f.u1.model { m in m.arrays["eps_v"] = try NDArray(shape: [2], doubles: [-0.1, 0.1]) } }
        add("bool extension array with byte 2", "array.invalid_values") { f in
            try f.u1.parts { try $0.putArray("ext.flags", try NDArray(dtype: .bool, shape: [3], bytes: [0, 1, 2])) }
        }
        add("uint8 extension array (loads)", nil) { f in
            try f.u1.parts { try $0.putArray("ext.notes", try NDArray(shape: [3], uint8s: [7, 8, 9])) }
        }
        add("probe direction 0.5", "array.invalid_values") { f in
            try f.probe.model { m in m.arrays["probe.trajectory.direction"] = try NDArray(shape: [2], doubles: [1, 0.5]) }
        }
        add("probe array missing", "array.missing") { f in try f.probe.model { m in m.arrays["probe.xnet.0.out_scale"] = nil } }
        add("probe array stored as float32", "array.dtype_mismatch") { f in
            try f.probe.model { m in
                m.arrays["probe.trajectory.log_det"] = try NDArray(shape: [2], floats: f.probe.doubles("probe.trajectory.log_det").map(Float.init))
            }
        }
        add("probe arrays without a probe in the manifest", "array.unexpected") { f in
            try f.probe.parts {
                try $0.setManifest(["probe"], nil)
                try $0.setManifest(["required_features"], .array([.string("ncp_x_update")]))
            }
        }
        return cases
    }

    // MARK: Running the table

    /// Reads `bytes` and returns the error code, nil when it loads; any non-L2ZError fails.
    private func readCode(_ read: () throws -> L2ZReader.Result, _ name: String, file: StaticString = #filePath, line: UInt = #line) -> String? {
        do {
            _ = try read()
            return nil
        } catch let e as L2ZError {
            XCTAssertFalse(e.message.isEmpty, name, file: file, line: line)
            if ProcessInfo.processInfo.environment["L2Z_PRINT_CASES"] == "1" { print("\(name): \(e)") }
            return e.code
        } catch {
            XCTFail("\(name): threw a non-L2ZError \(type(of: error)): \(error)", file: file, line: line)
            return "(not an L2ZError)"
        }
    }

    func testTableIsLargeAndNamesAreUnique() throws {
        let cases = Self.allCases()
        XCTAssertGreaterThanOrEqual(cases.filter { $0.expected != nil }.count, 45)
        XCTAssertEqual(Set(cases.map(\.name)).count, cases.count, "case names must be unique")
    }

    func testFixturesAreValidAndSurgeryRoundTrips() throws {
        let f = try Self.fixtures()
        XCTAssertEqual(ZipSurgery.crc32(Array("123456789".utf8)), 0xCBF4_3926)
        for (label, fixture) in [("u1", f.u1), ("perStep", f.perStep), ("gmm", f.gmm), ("probe", f.probe)] {
            let result = try L2ZReader.read(bytes: fixture.bytes)
            XCTAssertEqual(result.model, fixture.model, label)
            // Taking the archive apart and rebuilding it must give the same bytes, so every
            // rebuilt case differs from a valid file only by its intended corruption.
            XCTAssertEqual(try ZipSurgery.Parts(bytes: fixture.bytes).build(), fixture.bytes, label)
            XCTAssertEqual(try ZipSurgery.Parts(unvalidated: fixture.model).build(), fixture.bytes, label)
            for e in try ZipSurgery.entries(fixture.bytes) {
                let data = Array(fixture.bytes[e.dataOffset..<(e.dataOffset + e.size)])
                XCTAssertEqual(Int(ZipSurgery.crc32(data)), ZipSurgery.u32(fixture.bytes, e.central + ZipSurgery.Central.crc), e.name)
            }
        }
    }

    func testEveryCaseFromBytes() throws {
        let f = try Self.fixtures()
        for c in Self.allCases() {
            let bytes: [UInt8]
            do { bytes = try c.corrupt(f) } catch { XCTFail("\(c.name): could not build the case: \(error)"); continue }
            if c.limits == ReadLimits() && c.expected != nil {
                XCTAssertNotEqual(bytes, f.u1.bytes, "\(c.name): the case must change the file")
            }
            let code = readCode({ try L2ZReader.read(bytes: bytes, limits: c.limits) }, c.name)
            XCTAssertEqual(code, c.expected, "case \"\(c.name)\"")
        }
    }

    /// Every case again through `read(path:)` of a temporary file; reading never leaves a file behind.
    func testEveryCaseFromPath() throws {
        let f = try Self.fixtures()
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (i, c) in Self.allCases().enumerated() {
            let bytes = try c.corrupt(f)
            let path = "\(dir)/case-\(i).l2z"
            XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(bytes)), c.name)
            let code = readCode({ try L2ZReader.read(path: path, limits: c.limits) }, c.name)
            XCTAssertEqual(code, c.expected, "case \"\(c.name)\" (from a file)")
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), Data(bytes), "\(c.name): the reader must not touch the file")
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["case-\(i).l2z"], "\(c.name): no other file may appear")
            try FileManager.default.removeItem(atPath: path)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [])
    }

    func testReadPathErrors() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        XCTAssertEqual(readCode({ try L2ZReader.read(path: "\(dir)/does-not-exist.l2z") }, "nonexistent"), "io.not_found")
        XCTAssertEqual(readCode({ try L2ZReader.read(path: dir) }, "directory"), "io.failure")
        let path = "\(dir)/big.l2z"
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(try Self.fixtures().u1.bytes)))
        var small = ReadLimits()
        small.maxFileBytes = 64
        XCTAssertEqual(readCode({ try L2ZReader.read(path: path, limits: small) }, "file limit"), "container.file_too_large")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["big.l2z"])
    }

    // MARK: Writer

    private func assertEncodeFails(_ model: L2ZModel, _ expected: String, _ name: String, file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try L2ZWriter.encode(model)
            XCTFail("\(name): encode succeeded", file: file, line: line)
        } catch let e as L2ZError {
            XCTAssertEqual(e.code, expected, name, file: file, line: line)
        } catch {
            XCTFail("\(name): non-L2ZError \(error)", file: file, line: line)
        }
    }

    func testWriterRefusesInvalidModels() throws {
        let base = try Self.fixtures().u1.model
        var m = base
        var kernel = m.arrays["xnet.0.v_layer.kernel"]!.doubles()
        kernel[0] = .nan
        m.arrays["xnet.0.v_layer.kernel"] = try NDArray(shape: [8, 4], doubles: kernel)
        assertEncodeFails(m, "array.non_finite", "NaN weight")

        for bad in ["Bad Name", "../x", "/abs", "a\\b", "ext..x", "ext.X", "", "1abc", String(repeating: "a", count: 129)] {
            m = base
            m.arrays[bad] = try NDArray(shape: [1], doubles: [1])
            assertEncodeFails(m, "array.invalid_name", "name \"\(bad.prefix(20))\"")
        }

        m = base
        m.arrays["masks"] = nil
        assertEncodeFails(m, "array.missing", "missing masks")

        m = base
        m.arrays["surprise"] = try NDArray(shape: [1], doubles: [1])
        assertEncodeFails(m, "array.unexpected", "unexpected array")

        m = base
        m.arrays["eps_x"] = try NDArray(shape: [2], doubles: [0.1, -1])
        assertEncodeFails(m, "array.invalid_values", "negative step size")

        m = base
        try m.updateSampler { $0.dynamics.xUpdate = .linear }
        assertEncodeFails(m, "manifest.invalid_value", "linear x update with x scale on U(1)")

        m = base
        try m.updateSampler { $0.netWeights.vScale = .infinity }
        assertEncodeFails(m, "manifest.invalid_value", "infinite net weight")

        m = base
        m.extensions = ["x-bad": .double(.nan)]
        assertEncodeFails(m, "manifest.invalid_value", "non-finite extension value")
    }

    struct InjectedFault: Error, Equatable {}

    func testFailedWriteLeavesOldFileAndNoTemporaryFile() throws {
        let f = try Self.fixtures()
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/model.l2z"
        try L2ZWriter.write(f.u1.model, to: path)
        let old = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertEqual(old, Data(f.u1.bytes))

        // A different model, failing midway through the temporary file.
        let other = try RandomModel.make(sampler: Self.u1Sampler(.shared), seed: 777)
        XCTAssertThrowsError(try L2ZWriter.write(other, to: path, faultInjection: { _ in throw InjectedFault() })) { error in
            XCTAssertEqual(error as? InjectedFault, InjectedFault(), "\(error)")
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), old, "the old file must be untouched")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["model.l2z"], "no temporary file may remain")

        // The same with replaceExisting false and a fault: still nothing changes.
        XCTAssertThrowsError(try L2ZWriter.write(other, to: "\(dir)/new.l2z", replaceExisting: false, faultInjection: { _ in throw InjectedFault() }))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["model.l2z"])

        // An invalid model is refused before anything is written.
        var invalid = other
        invalid.arrays["eps_x"] = nil
        XCTAssertThrowsError(try L2ZWriter.write(invalid, to: path)) { XCTAssertEqual(($0 as? L2ZError)?.code, "array.missing") }
        XCTAssertThrowsError(try L2ZWriter.write(invalid, to: "\(dir)/invalid.l2z")) { XCTAssertEqual(($0 as? L2ZError)?.code, "array.missing") }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), old)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["model.l2z"])

        // A successful replacement does replace, and leaves only the target.
        try L2ZWriter.write(other, to: path)
        XCTAssertEqual(try L2ZReader.read(path: path).model, other)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["model.l2z"])
    }

    func testNoReplaceRefusesExistingFile() throws {
        let f = try Self.fixtures()
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/model.l2z"
        try L2ZWriter.write(f.u1.model, to: path, replaceExisting: false)
        let old = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try L2ZWriter.write(f.gmm.model, to: path, replaceExisting: false)) {
            XCTAssertEqual(($0 as? L2ZError)?.code, "io.output_exists", "\($0)")
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), old)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["model.l2z"])

        XCTAssertThrowsError(try L2ZWriter.write(f.u1.model, to: "\(dir)/no/such/dir/model.l2z")) {
            XCTAssertEqual(($0 as? L2ZError)?.code, "io.failure", "\($0)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["model.l2z"])
    }

    // MARK: Regressions (bugs found by this table, now fixed)

    /// A 16 KB file whose manifest describes the largest architecture the rules allow (N_LF 4096,
    /// per-step, split x-networks, 64 hidden layers) needs ~1.7 million expected arrays;
    /// `ModelValidator` used to materialize and sort that whole table (about 10 s in a debug
    /// build). The reader now counts the arrays arithmetically and refuses in milliseconds.
    func testTinyFileDescribingHugeArchitectureIsRefusedQuickly() throws {
        let bytes = try Self.fixtures().u1.parts {
            try $0.setManifest(["dynamics", "n_lf"], .int(4096))
            try $0.setManifest(["network", "layout"], .string("per_step"))
            try $0.setManifest(["network", "x_networks_per_step"], .int(2))
            try $0.setManifest(["network", "hidden_units"], .array([JSONValue](repeating: .int(4), count: 64)))
            try $0.setManifest(["required_features"], .array(["ncp_x_update", "per_step_networks", "split_x_networks"].map { .string($0) }))
        }
        let start = Date()
        XCTAssertEqual(readCode({ try L2ZReader.read(bytes: bytes) }, "huge architecture"), "manifest.invalid_value")
        XCTAssertLessThan(Date().timeIntervalSince(start), 0.5, "rejection must not scale with the declared architecture")
    }

    /// With a caller-raised `ReadLimits.maxElements`, `NpyCodec.parseHeader` computes
    /// `count * itemSize` must be overflow-checked (it once trapped instead of throwing).
    func testRaisedElementLimitDoesNotOverflow() throws {
        var limits = ReadLimits()
        limits.maxElements = .max
        let f = try Self.fixtures()
        let bytes = try f.u1.npy("eps_x", ZipSurgery.npy(header: "{'descr': '<f8', 'fortran_order': False, 'shape': (999999999999999, 2000), }",
                                                         data: ZipSurgery.float64Bytes(f.u1.doubles("eps_x"))))
        XCTAssertEqual(readCode({ try L2ZReader.read(bytes: bytes, limits: limits) }, "overflow"), "array.invalid_shape")
    }

    // MARK: Helpers

    private func makeTempDirectory() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("l2z-malformed-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        return dir
    }
}

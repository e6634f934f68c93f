import Foundation
import XCTest

/// Upstream artifacts that hold no weights the converter reads (a TensorFlow SavedModel, a
/// tf.train.Checkpoint in each of the ways one is named, a Python pickle, joblib files, a Hydra
/// config.yaml), made on the fly in a temporary directory: `l2hmc-convert SRC DST`,
/// `convert --dry-run` and `inspect` each refuse them with `convert.not_weight_file`, one line
/// naming what to export instead, exit status 1, nothing on stdout, and nothing written.
final class ConvertUpstreamArtifactCLITests: XCTestCase {
    /// `pickle.dumps({'eps_x': [0.1, 0.2], 'eps_v': [0.15, 0.25], 'step': 1000}, protocol=4)`,
    /// written by Python 3.11.
    static let pickleProtocol4 = "8004954b000000000000007d94288c056570735f78945d9428473fb999999999999a473fc999999999999a658c056570735f76945d9428473fc3333333333333473fd0000000000000658c0473746570944de803752e"

    static func hex(_ s: String) -> Data {
        var out = Data()
        var i = s.startIndex
        while i < s.endIndex {
            let j = s.index(i, offsetBy: 2)
            out.append(UInt8(s[i..<j], radix: 16) ?? 0)
            i = j
        }
        return out
    }

    /// (source path, what the message must name, a phrase of the advice) for every artifact.
    static func makeArtifacts(in dir: URL) throws -> [(path: String, names: String, advice: String)] {
        let fm = FileManager.default
        func write(_ relative: String, _ data: Data) throws -> String {
            let url = dir.appendingPathComponent(relative)
            try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: url)
            return url.path
        }
        // TensorFlow's table footer magic (0xdb4775248b80fb57, little-endian) ends an .index file.
        let tableMagic = Data([0x57, 0xFB, 0x80, 0x8B, 0x24, 0x75, 0x47, 0xDB])
        let index = Data(repeating: 0, count: 40) + tableMagic
        var out: [(String, String, String)] = []
        // SavedModel: the directory, and its saved_model.pb.
        let pb = try write("saved/saved_model.pb", Data("graph".utf8))
        _ = try write("saved/variables/variables.index", index)
        _ = try write("saved/variables/variables.data-00000-of-00001", Data(repeating: 1, count: 16))
        out.append((dir.appendingPathComponent("saved").path, "SavedModel", "save_weights"))
        out.append((pb, "SavedModel", "save_weights"))
        // tf.train.Checkpoint: the directory, the state file, the .index, the data shard, the prefix.
        let state = try write("tfckpt/checkpoint", Data("model_checkpoint_path: \"ckpt-3\"\nall_model_checkpoint_paths: \"ckpt-3\"\n".utf8))
        let idx = try write("tfckpt/ckpt-3.index", index)
        let shard = try write("tfckpt/ckpt-3.data-00000-of-00001", Data(repeating: 2, count: 16))
        out.append((dir.appendingPathComponent("tfckpt").path, "TensorFlow checkpoint", "restore it in TensorFlow"))
        out.append((state, "TensorFlow checkpoint", "restore it in TensorFlow"))
        out.append((idx, "TensorFlow checkpoint", "restore it in TensorFlow"))
        out.append((shard, "TensorFlow checkpoint", "restore it in TensorFlow"))
        out.append((dir.appendingPathComponent("tfckpt/ckpt-3").path, "TensorFlow checkpoint", "restore it in TensorFlow"))
        out.append((try write("renamed/weights", index), "TensorFlow checkpoint", "save_weights"))
        // Pickles: by content (any name), by name (a protocol-0 pickle).
        out.append((try write("eps.dat", hex(pickleProtocol4)), "Python pickle", "--eps-x"))
        out.append((try write("eps.pkl", Data("(dp0\nVeps\np1\nF0.1\ns.".utf8)), "Python pickle", "--eps-x"))
        // joblib: a pickle naming joblib's array wrapper; zlib- and gzip-compressed joblib files.
        var wrapper = Data([0x80, 0x04, 0x95, 0x20, 0, 0, 0, 0, 0, 0, 0, 0x8C, 0x13]) + Data("joblib.numpy_pickle".utf8)
        wrapper += Data([0x94, 0x8C, 0x11]) + Data("NumpyArrayWrapper".utf8) + Data([0x94, 0x93, 0x94, 0x2E])
        out.append((try write("eps-state", wrapper), "joblib", "safetensors"))
        out.append((try write("eps.joblib", Data([0x78, 0x9C, 0x6B, 0x60, 0x99, 0x5A, 0x00, 0x00])), "joblib", "safetensors"))
        out.append((try write("eps.pkl.gz", Data([0x1F, 0x8B, 0x08, 0x00, 0x00, 0x00])), "joblib", "safetensors"))
        // A Hydra config.
        out.append((try write("outputs/.hydra/config.yaml", Data("dynamics:\n  eps: 0.1\n".utf8)), "YAML", "--config"))
        return out
    }

    func testArtifactsRefusedWithWhatToExport() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let table = try Self.makeArtifacts(in: dir)
        XCTAssertEqual(table.count, 14)
        let out = dir.appendingPathComponent("out.l2z").path
        for (source, names, advice) in table {
            for args in [[source, out], ["convert", source, out, "--dry-run"], ["inspect", source], ["inspect", "--json", source]] {
                let r = try CLI.run("l2hmc-convert", args)
                XCTAssertEqual(r.status, 1, "\(args): \(r.stderr)")
                XCTAssertTrue(r.stderr.hasPrefix("error: [convert.not_weight_file] \(source) is "), r.stderr)
                XCTAssertTrue(r.stderr.contains(names) && r.stderr.contains(advice), "\(args): \(r.stderr)")
                XCTAssertEqual(r.stderr.filter { $0 == "\n" }.count, 1, "one line: \(r.stderr)")
                XCTAssertEqual(r.stdout, "")
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "nothing is written")
        // Nothing else was created next to the sources (no temporary directory left either).
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        XCTAssertEqual(left, ["eps-state", "eps.dat", "eps.joblib", "eps.pkl", "eps.pkl.gz", "outputs", "renamed", "saved", "tfckpt"])
    }

    /// PyTorch's legacy format is a pickle too, but keeps its own, more specific refusal.
    func testTorchLegacyKeepsItsCode() throws {
        let r = try CLI.run("l2hmc-convert", ["inspect", "fixtures/torch/real-legacy.pt"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.hasPrefix("error: [convert.torch_legacy_format] "), r.stderr)
    }
}

import Foundation
import Inference
import ModelFormat

/// What the root of an MPI launch sends every other rank before a run: the resolved
/// parameters (params.json), the model file's bytes and, for a resumed run, the trajectory
/// index and every chain's state. The other ranks read no file: the model and the run
/// directory need only be on the root's machine.
///
/// Layout: four sections, each an 8-byte little-endian length and its bytes: params.json
/// (canonical JSON), the model (empty for plain HMC), the trajectory index (8 bytes, or empty
/// for a new run), the states (float64, native order).
struct RunPlan {
    var params: JSONValue
    var modelBytes: [UInt8]
    var resumed: (trajectoryIndex: Int, states: [Double])?

    func encode() throws -> [UInt8] {
        var out: [UInt8] = []
        func section(_ bytes: [UInt8]) {
            withUnsafeBytes(of: UInt64(bytes.count).littleEndian) { out += $0 }
            out += bytes
        }
        section(try CanonicalJSONWriter.encode(params))
        section(modelBytes)
        if let r = resumed {
            section(withUnsafeBytes(of: UInt64(r.trajectoryIndex).littleEndian) { Array($0) })
            section(DoubleBytes.encode(r.states))
        } else {
            section([]); section([])
        }
        return out
    }

    init(params: JSONValue, modelBytes: [UInt8], resumed: (trajectoryIndex: Int, states: [Double])?) {
        self.params = params; self.modelBytes = modelBytes; self.resumed = resumed
    }

    init(decoding bytes: [UInt8]) throws {
        var offset = 0
        func fail() -> InferenceError { .io(path: "MPI rank 0", reason: "sent a malformed run plan (\(bytes.count) bytes)") }
        func section() throws -> [UInt8] {
            guard offset + 8 <= bytes.count else { throw fail() }
            var length: UInt64 = 0
            withUnsafeMutableBytes(of: &length) { $0.copyBytes(from: bytes[offset..<(offset + 8)]) }
            offset += 8
            guard let n = Int(exactly: UInt64(littleEndian: length)), n <= bytes.count - offset else { throw fail() }
            defer { offset += n }
            return Array(bytes[offset..<(offset + n)])
        }
        do { params = try StrictJSONParser.parse(try section()) } catch { throw fail() }
        modelBytes = try section()
        let index = try section(), states = try section()
        if index.isEmpty {
            resumed = nil
        } else {
            guard index.count == 8, states.count % 8 == 0 else { throw fail() }
            var t: UInt64 = 0
            withUnsafeMutableBytes(of: &t) { $0.copyBytes(from: index) }
            guard let index = Int(exactly: UInt64(littleEndian: t)) else { throw fail() }
            resumed = (index, DoubleBytes.decode(states))
        }
    }
}

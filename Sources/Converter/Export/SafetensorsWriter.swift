import ModelFormat

/// Writes a safetensors file (the format ``SafetensorsFile`` reads): an 8-byte little-endian
/// header length N, N bytes of JSON (canonical form: keys sorted, `__metadata__` among them), padded with
/// spaces to a multiple of 8 as the reference library does, then the tensors' bytes in name
/// order, each directly after the previous one (they tile the buffer exactly).
enum SafetensorsWriter {
    /// One tensor: dtype `F64`, `F32` or `I64`, C-order little-endian bytes.
    struct Tensor {
        let name: String
        let dtype: String
        let shape: [Int]
        let bytes: [UInt8]
    }

    static func encode(_ tensors: [Tensor], metadata: [String: String]) throws -> [UInt8] {
        let sorted = tensors.sorted { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) }
        var header: [String: JSONValue] = [:]
        var offset = 0
        for t in sorted {
            header[t.name] = .object(["dtype": .string(t.dtype), "shape": .array(t.shape.map { .int(Int64($0)) }),
                                      "data_offsets": .array([.int(Int64(offset)), .int(Int64(offset + t.bytes.count))])])
            offset += t.bytes.count
        }
        if !metadata.isEmpty { header["__metadata__"] = .object(metadata.mapValues { .string($0) }) }
        var json = try CanonicalJSONWriter.encode(.object(header))
        while json.last == 0x0A { json.removeLast() }
        while json.count % 8 != 0 { json.append(0x20) }
        var out: [UInt8] = []
        out.reserveCapacity(8 + json.count + offset)
        var n = UInt64(json.count)
        for _ in 0..<8 { out.append(UInt8(n & 0xFF)); n >>= 8 }
        out += json
        for t in sorted { out += t.bytes }
        return out
    }
}

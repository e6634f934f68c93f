import CLibCrypto

/// SHA-256 (OpenSSL libcrypto) as lower-case hex.
public enum SHA256Digest {
    public static func hex(_ bytes: [UInt8]) -> String {
        var digest = [UInt8](repeating: 0, count: 32)
        bytes.withUnsafeBufferPointer { src in
            _ = digest.withUnsafeMutableBufferPointer { dst in
                CLibCrypto.SHA256(src.baseAddress, src.count, dst.baseAddress)
            }
        }
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for b in digest { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }
}

import Foundation

/// Counter-based random numbers (Philox4x32-10, Salmon et al. 2011): every value is a pure
/// function of (seed, trajectory, chain, purpose, index), so results do not depend on the order
/// or thread in which chains are processed, and a resumed run draws exactly what an
/// uninterrupted one would.
public struct ChainRandom: Sendable {
    public let seed: UInt64

    public init(seed: UInt64) { self.seed = seed }

    /// What a block of random numbers is for (part of the counter, so streams never overlap).
    public enum Purpose: UInt32, Sendable {
        case momentum = 1, direction = 2, accept = 3, initialState = 4, probe = 5
    }

    /// One Philox4x32-10 block: four 32-bit words.
    @inline(__always)
    public func block(trajectory: UInt32, chain: UInt32, purpose: Purpose, index: UInt32) -> (UInt32, UInt32, UInt32, UInt32) {
        var c0 = index, c1 = chain, c2 = trajectory, c3 = purpose.rawValue
        var k0 = UInt32(truncatingIfNeeded: seed), k1 = UInt32(truncatingIfNeeded: seed >> 32)
        for _ in 0..<10 {
            let p0 = UInt64(0xD251_1F53) &* UInt64(c0)
            let p1 = UInt64(0xCD9E_8D57) &* UInt64(c2)
            let hi0 = UInt32(truncatingIfNeeded: p0 >> 32), lo0 = UInt32(truncatingIfNeeded: p0)
            let hi1 = UInt32(truncatingIfNeeded: p1 >> 32), lo1 = UInt32(truncatingIfNeeded: p1)
            (c0, c1, c2, c3) = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0)
            k0 &+= 0x9E37_79B9
            k1 &+= 0xBB67_AE85
        }
        return (c0, c1, c2, c3)
    }

    /// Two uniforms in (0, 1) with 53 random bits each (never exactly 0).
    @inline(__always)
    public func uniforms(trajectory: UInt32, chain: UInt32, purpose: Purpose, index: UInt32) -> (Double, Double) {
        let (a, b, c, d) = block(trajectory: trajectory, chain: chain, purpose: purpose, index: index)
        let u = (UInt64(a >> 5) << 26 | UInt64(b >> 6))
        let w = (UInt64(c >> 5) << 26 | UInt64(d >> 6))
        return ((Double(u) + 0.5) * 0x1.0p-53, (Double(w) + 0.5) * 0x1.0p-53)
    }

    /// Fills `count` standard normals (Box-Muller, two per block).
    public func normals(trajectory: UInt32, chain: UInt32, purpose: Purpose, count: Int, into out: UnsafeMutablePointer<Double>) {
        var i = 0, index: UInt32 = 0
        while i < count {
            let (u1, u2) = uniforms(trajectory: trajectory, chain: chain, purpose: purpose, index: index)
            let radius = (-2 * log(u1)).squareRoot(), angle = 2 * Double.pi * u2
            out[i] = radius * cos(angle)
            if i + 1 < count { out[i + 1] = radius * sin(angle) }
            i += 2
            index += 1
        }
    }
}

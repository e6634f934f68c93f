import Foundation

/// Counter-based random numbers (Philox4x32-10, Salmon et al. 2011): every block is a pure
/// function of a 64-bit key (the seed) and a 128-bit counter, so a value never depends on the
/// order or the thread in which it is drawn, and a resumed or sharded computation draws exactly
/// what an uninterrupted single-threaded one would.
///
/// The counter is four 32-bit words. Word 0 is the index of the block inside a stream; words 1
/// to 3 name the stream (``Stream``). Each user lays its own identifiers onto those words (the
/// runtime's ``Inference/ChainRandom``: chain, trajectory, purpose; the trainer: chain, step,
/// purpose and the step's high bits), so streams of different purposes never overlap.
///
/// Numerical contract (bit for bit, on every platform with IEEE-754 doubles and a correctly
/// rounded `log`, `cos`, `sin` as the C library provides them):
/// - a uniform takes 53 bits of a block's two words, `u = (k + 0.5) 2^-53`, so it lies in (0, 1)
///   and is never exactly 0 or 1;
/// - normals are Box-Muller on a block's two uniforms: `r = sqrt(-2 log u1)`, `a = 2 pi u2`,
///   `r cos a`, then `r sin a`, two per block, blocks 0, 1, 2, ... of the stream.
public struct CounterRandom: Sendable {
    /// The Philox key (low word first).
    public let seed: UInt64

    public init(seed: UInt64) { self.seed = seed }

    /// Counter words 1, 2 and 3: one stream of blocks, indexed by word 0.
    public struct Stream: Sendable, Equatable {
        public var word1: UInt32
        public var word2: UInt32
        public var word3: UInt32
        @inlinable public init(_ word1: UInt32, _ word2: UInt32, _ word3: UInt32) {
            self.word1 = word1; self.word2 = word2; self.word3 = word3
        }
    }

    /// One Philox4x32-10 block: four 32-bit words.
    @inlinable @inline(__always)
    public func block(_ stream: Stream, index: UInt32) -> (UInt32, UInt32, UInt32, UInt32) {
        var c0 = index, c1 = stream.word1, c2 = stream.word2, c3 = stream.word3
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

    /// Two uniforms in (0, 1) with 53 random bits each (never exactly 0), from block `index`.
    @inlinable @inline(__always)
    public func uniforms(_ stream: Stream, index: UInt32) -> (Double, Double) {
        let (a, b, c, d) = block(stream, index: index)
        let u = (UInt64(a >> 5) << 26 | UInt64(b >> 6))
        let w = (UInt64(c >> 5) << 26 | UInt64(d >> 6))
        return ((Double(u) + 0.5) * 0x1.0p-53, (Double(w) + 0.5) * 0x1.0p-53)
    }

    /// Fills `count` uniforms in (0, 1): both uniforms of blocks 0, 1, 2, ... in order (the
    /// second of the last block is dropped when `count` is odd).
    @inlinable
    public func uniforms(_ stream: Stream, count: Int, into out: UnsafeMutablePointer<Double>) {
        var i = 0, index: UInt32 = 0
        while i < count {
            let (a, b) = uniforms(stream, index: index)
            out[i] = a
            if i + 1 < count { out[i + 1] = b }
            i += 2
            index &+= 1
        }
    }

    /// Fills `count` standard normals (Box-Muller, two per block).
    @inlinable
    public func normals(_ stream: Stream, count: Int, into out: UnsafeMutablePointer<Double>) {
        var i = 0, index: UInt32 = 0
        while i < count {
            let (u1, u2) = uniforms(stream, index: index)
            let radius = (-2 * log(u1)).squareRoot(), angle = 2 * Double.pi * u2
            out[i] = radius * cos(angle)
            if i + 1 < count { out[i + 1] = radius * sin(angle) }
            i += 2
            index &+= 1
        }
    }
}

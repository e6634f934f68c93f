import CounterRandom

/// Counter-based random numbers (Philox4x32-10, Salmon et al. 2011): every value is a pure
/// function of (seed, trajectory, chain, purpose, index), so results do not depend on the order
/// or thread in which chains are processed, and a resumed run draws exactly what an
/// uninterrupted one would. The generator is the shared ``CounterRandom/CounterRandom``; this
/// type fixes the runtime's counter layout: word 0 the index, word 1 the chain, word 2 the
/// trajectory, word 3 the purpose.
public struct ChainRandom: Sendable {
    public let seed: UInt64
    @usableFromInline let generator: CounterRandom

    public init(seed: UInt64) { self.seed = seed; generator = CounterRandom(seed: seed) }

    /// What a block of random numbers is for (part of the counter, so streams never overlap).
    public enum Purpose: UInt32, Sendable {
        case momentum = 1, direction = 2, accept = 3, initialState = 4, probe = 5
        /// The per-trajectory step-size factor of jittered plain HMC (``LeapfrogDynamics/jitter``).
        case stepSize = 6
    }

    @inline(__always)
    func stream(_ trajectory: UInt32, _ chain: UInt32, _ purpose: Purpose) -> CounterRandom.Stream {
        CounterRandom.Stream(chain, trajectory, purpose.rawValue)
    }

    /// One Philox4x32-10 block: four 32-bit words.
    @inline(__always)
    public func block(trajectory: UInt32, chain: UInt32, purpose: Purpose, index: UInt32) -> (UInt32, UInt32, UInt32, UInt32) {
        generator.block(stream(trajectory, chain, purpose), index: index)
    }

    /// Two uniforms in (0, 1) with 53 random bits each (never exactly 0).
    @inline(__always)
    public func uniforms(trajectory: UInt32, chain: UInt32, purpose: Purpose, index: UInt32) -> (Double, Double) {
        generator.uniforms(stream(trajectory, chain, purpose), index: index)
    }

    /// Fills `count` standard normals (Box-Muller, two per block).
    public func normals(trajectory: UInt32, chain: UInt32, purpose: Purpose, count: Int, into out: UnsafeMutablePointer<Double>) {
        generator.normals(stream(trajectory, chain, purpose), count: count, into: out)
    }
}

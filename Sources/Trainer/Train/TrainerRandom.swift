import CounterRandom

/// The trainer's random numbers: counter-based (``CounterRandom/CounterRandom``, Philox4x32-10
/// keyed by the configuration's `seed`), so each value is a pure function of (seed, training
/// step, global chain id, purpose, index). A chain's numbers therefore do not depend on the
/// tile, thread or process that computes it, and a resumed training draws exactly what an
/// uninterrupted one would: no generator state is stored.
///
/// Counter layout: word 0 the index of the block in the stream, word 1 the global chain id,
/// word 2 the low 32 bits of the step, word 3 the purpose (bits 0-7) and bits 32-39 of the step
/// (bits 8-15; steps are below 2^40). The trainer's purposes start at 0x11, so they never
/// coincide with the runtime's (1 to 5) even for equal seeds.
///
/// What each purpose draws per chain, at step s (the step being made, 0 for the initial states):
/// - `initialState` (s = 0): the persistent chains' first states (the target's initialization
///   distribution: one uniform per U(1) link, one normal per mixture coordinate);
/// - `momentum`: n standard normals; `direction`: block 0, word 0, bit 0 (0: forward);
///   `accept`: the first uniform of block 0;
/// - `auxState`, `auxMomentum`, `auxDirection`: the same for the auxiliary batch's chain with
///   the same global id;
/// - `flowPrior` (flows, ``FlowTrainer``): n uniforms per chain of the step's batch (z = 2 pi u - pi).
struct TrainerRandom: Sendable {
    enum Purpose: UInt32, CaseIterable, Sendable {
        case initialState = 0x11, momentum = 0x12, direction = 0x13, accept = 0x14
        case auxState = 0x15, auxMomentum = 0x16, auxDirection = 0x17
        case flowPrior = 0x18
    }

    let generator: CounterRandom

    init(seed: UInt64) { generator = CounterRandom(seed: seed) }

    func stream(step: Int, chain: Int, _ purpose: Purpose) -> CounterRandom.Stream {
        CounterRandom.Stream(UInt32(truncatingIfNeeded: chain), UInt32(truncatingIfNeeded: step),
                             purpose.rawValue | UInt32(truncatingIfNeeded: (step >> 32) & 0xFF) << 8)
    }

    /// [chains.count, n] standard normals, chain by chain.
    func normals(step: Int, chains: Range<Int>, n: Int, _ purpose: Purpose) -> Matrix {
        var m = Matrix(zeros: chains.count, n)
        m.data.withUnsafeMutableBufferPointer { p in
            for (row, chain) in chains.enumerated() {
                guard let base = p.baseAddress else { return }
                generator.normals(stream(step: step, chain: chain, purpose), count: n, into: base + row * n)
            }
        }
        return m
    }

    /// [chains.count, n] uniforms in (0, 1), chain by chain.
    func uniforms(step: Int, chains: Range<Int>, n: Int, _ purpose: Purpose) -> Matrix {
        var m = Matrix(zeros: chains.count, n)
        m.data.withUnsafeMutableBufferPointer { p in
            for (row, chain) in chains.enumerated() {
                guard let base = p.baseAddress else { return }
                generator.uniforms(stream(step: step, chain: chain, purpose), count: n, into: base + row * n)
            }
        }
        return m
    }

    /// The first uniform of block 0.
    func uniform(step: Int, chain: Int, _ purpose: Purpose) -> Double {
        generator.uniforms(stream(step: step, chain: chain, purpose), index: 0).0
    }

    /// Bit 0 of word 0 of block 0 is 0 (the forward direction).
    func isForward(step: Int, chain: Int, _ purpose: Purpose) -> Bool {
        generator.block(stream(step: step, chain: chain, purpose), index: 0).0 & 1 == 0
    }
}

/// The processes that share one run (MPI ranks), as ``RunEngine`` needs them: every process
/// holds whole tiles of chains and runs them; the root (rank 0) receives every trajectory's
/// rows, keeps the record and writes the run directory.
///
/// Every method is collective: all processes call it, in the same order. The tool adapts its
/// MPI communicator to this protocol (Inference never links MPI); tests use an in-process one.
public protocol RunProcessGroup: AnyObject {
    var rank: Int { get }
    var size: Int { get }
    /// The root receives every process's bytes in rank order; the others receive nil.
    func gather(_ bytes: [UInt8]) throws -> [[UInt8]]?
    /// Every process receives the root's bytes (the others' `bytes` are ignored).
    func broadcast(_ bytes: [UInt8]) throws -> [UInt8]
}

extension RunProcessGroup {
    public var isRoot: Bool { rank == 0 }

}

/// How a run's tiles are split over R processes: process `rank` holds the contiguous block of
/// tiles [rank T / R, (rank + 1) T / R), so the rows gathered in rank order are the chains in
/// global order.
public enum TileSplit {
    public static func tiles(rank: Int, size: Int, tileCount: Int) -> Range<Int> {
        (rank * tileCount / size)..<((rank + 1) * tileCount / size)
    }
}

/// Packs doubles to bytes and back (native little-endian: every process of one MPI job runs on
/// the same architecture).
public enum DoubleBytes {
    public static func encode(_ values: [Double]) -> [UInt8] {
        values.withUnsafeBytes { Array($0) }
    }

    /// The doubles of `bytes` (a trailing partial value is ignored).
    public static func decode(_ bytes: [UInt8]) -> [Double] {
        let count = bytes.count / 8
        var out = [Double](repeating: 0, count: count)
        out.withUnsafeMutableBytes { dst in bytes.withUnsafeBytes { src in dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[0..<(count * 8)])) } }
        return out
    }
}

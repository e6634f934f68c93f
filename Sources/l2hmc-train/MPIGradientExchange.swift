import DistributedKit
import Trainer

/// The trainer's ``GradientExchange`` over the MPI ranks of an `mpirun` launch: rank r computes
/// the contiguous block of tiles [r T / R, (r + 1) T / R), and every rank receives every tile's
/// result (an allgather of the results, bit for bit), so each makes the same ordered sum,
/// clipping, Adam update and chain update and holds the same state as one process would.
final class MPIGradientExchange: GradientExchange {
    let group: ProcessGroup
    init(_ group: ProcessGroup) { self.group = group }

    func localTiles(tileCount: Int) -> [Int] {
        Array((group.rank * tileCount / group.size)..<((group.rank + 1) * tileCount / group.size))
    }

    /// A failed collective ends the whole job (MPI_Abort): the ranks could not agree any more.
    func combine(localTiles: [TileResult], tileCount: Int) -> [TileResult] {
        var packet: [Double] = []
        for r in localTiles {
            packet += [Double(r.tile), Double(r.gradient.count)] + r.gradient
            packet += [r.lossSum, r.auxLossSum, r.acceptanceSum, r.esjdSum, r.tunnelingSum, Double(r.chains.count)] + r.chains
        }
        let parts: [[UInt8]]
        do { parts = try group.allGather(packet.withUnsafeBytes { Array($0) }) } catch {
            group.abort(code: 1, message: "error: [mpi.failure] exchanging the training step's tile results: \(error)")
        }
        var all: [TileResult] = []
        for (rank, bytes) in parts.enumerated() {
            let count = bytes.count / 8
            var d = [Double](repeating: 0, count: count)
            d.withUnsafeMutableBytes { $0.copyBytes(from: bytes[0..<(count * 8)]) }
            var i = 0
            func take(_ n: Int) -> ArraySlice<Double>? {
                guard n >= 0, i + n <= d.count else { return nil }
                defer { i += n }
                return d[i..<(i + n)]
            }
            while i < d.count {
                guard let head = take(2), let tile = Int(exactly: head[head.startIndex]), let g = Int(exactly: head[head.startIndex + 1]),
                      let gradient = take(g), let sums = take(6), let c = Int(exactly: sums[sums.startIndex + 5]), let chains = take(c) else {
                    group.abort(code: 1, message: "error: [mpi.failure] rank \(rank) sent a malformed tile result")
                }
                let s = Array(sums)
                all.append(TileResult(tile: tile, gradient: Array(gradient), lossSum: s[0], auxLossSum: s[1], acceptanceSum: s[2], esjdSum: s[3],
                                      tunnelingSum: s[4], chains: Array(chains)))
            }
        }
        all.sort { $0.tile < $1.tile }
        guard all.map(\.tile) == Array(0..<tileCount) else {
            group.abort(code: 1, message: "error: [mpi.failure] the ranks returned tiles \(all.map(\.tile)), expected 0..<\(tileCount)")
        }
        return all
    }
}

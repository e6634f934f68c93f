import ModelFormat

/// Re-flattens every link-indexed array from one link layout to another, so that the converted
/// sampler computes the same function with its links numbered the target's way.
///
/// With `perm[j]` = the source index of target link j (same t, x, mu):
/// - `masks` [N, n]: columns.
/// - `NET.x_layer.kernel`: rows, following the network's input encoding (raw: row j;
///   cos/sin blocks: rows j and n + j; interleaved: rows 2j and 2j + 1).
/// - `NET.v_layer.kernel` [n, H]: rows (v and the force are link-indexed).
/// - head kernels [H, n]: columns; head biases and coefficients [n]: entries.
/// Everything else (t_layer, hidden layers, batch norm, step sizes) is link-independent.
enum LinkPermutation {
    /// perm[j] = index in `from` of the link that has index j in `to`.
    static func permutation(lt: Int, lx: Int, from: LinkLayout, to: LinkLayout) -> [Int] {
        var perm = [Int](repeating: 0, count: 2 * lt * lx)
        for t in 0..<lt {
            for x in 0..<lx {
                for mu in 0..<2 { perm[to.index(t: t, x: x, mu: mu, lt: lt, lx: lx)] = from.index(t: t, x: x, mu: mu, lt: lt, lx: lx) }
            }
        }
        return perm
    }

    static func apply(_ arrays: [String: NDArray], spec: SamplerSpec, perm: [Int]) throws -> [String: NDArray] {
        let n = perm.count
        var out = arrays
        for (name, a) in arrays {
            let parts = name.split(separator: ".")
            let last = parts.last.map(String.init) ?? ""
            let layer = parts.count >= 2 ? String(parts[parts.count - 2]) : ""
            var rowMap: [Int]?, colMap: [Int]?
            if name == "masks" {
                colMap = perm
            } else if layer == "x_layer" && last == "kernel" {
                let encoding = name.hasPrefix("vnet") ? spec.network.vNetInput : spec.network.xNetInput
                switch encoding {
                case .raw: rowMap = perm
                case .cosSinBlocks: rowMap = perm + perm.map { $0 + n }
                case .cosSinInterleaved: rowMap = perm.flatMap { [2 * $0, 2 * $0 + 1] }
                }
            } else if layer == "v_layer" && last == "kernel" {
                rowMap = perm
            } else if ["scale", "translation", "transformation"].contains(layer) {
                if last == "kernel" { colMap = perm } else { rowMap = perm }   // bias, coeff: [n]
            }
            guard rowMap != nil || colMap != nil else { continue }
            out[name] = try permute(a, rows: rowMap, cols: colMap)
        }
        return out
    }

    /// out[i][j] = a[rows[i]][cols[j]] on the raw element bytes (the dtype is kept).
    static func permute(_ a: NDArray, rows: [Int]?, cols: [Int]?) throws -> NDArray {
        let item = a.dtype.itemSize
        let r = a.shape.count == 2 ? a.shape[0] : (a.shape.first ?? 1)
        let c = a.shape.count == 2 ? a.shape[1] : 1
        precondition(rows.map { $0.count == r } ?? true && cols.map { $0.count == c } ?? true, "permutation length")
        var bytes = [UInt8](repeating: 0, count: a.bytes.count)
        for i in 0..<r {
            let si = rows?[i] ?? i
            for j in 0..<c {
                let sj = cols?[j] ?? j
                let src = (si * c + sj) * item, dst = (i * c + j) * item
                for b in 0..<item { bytes[dst + b] = a.bytes[src + b] }
            }
        }
        return try NDArray(dtype: a.dtype, shape: a.shape, bytes: bytes)
    }
}

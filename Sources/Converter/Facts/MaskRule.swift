import ModelFormat

/// Named mask rules (docs/CONVERT.md, "Masks"). A rule gives, for step k, the links the
/// **first** x update changes (the `.l2z` meaning of `masks[k]`), computed from (t, x, mu)
/// and flattened with the source's link layout (so a later layout permutation moves them with
/// every other array).
public enum MaskRule: String, CaseIterable, Sendable {
    /// 2021 functional era: a checkerboard over (t, x, mu) that flips every step; the first x
    /// update of step k changes the links with t + x + mu + k odd (upstream's kept half `m` is
    /// the even checkerboard, its first update changes `1 - m`). Upstream also alternated the
    /// pattern over the chain index; one mask row per step cannot express that, so this is the
    /// pattern of chain 0 (docs/CONVERT.md).
    case checkerboard
    /// The same with the other parity: t + x + mu + k even changes first.
    case checkerboardSwapped = "checkerboard-swapped"
    /// TF2 eager era (04-07/2020): all mu = 0 links change first on even steps, all mu = 1
    /// links on odd steps.
    case muAlternating = "mu-alternating"

    /// [nLF][2 lt lx] 0/1 rows in `layout`.
    public func masks(nLF: Int, lt: Int, lx: Int, layout: LinkLayout) -> [[UInt8]] {
        (0..<nLF).map { k in
            var row = [UInt8](repeating: 0, count: 2 * lt * lx)
            for t in 0..<lt {
                for x in 0..<lx {
                    for mu in 0..<2 {
                        let on: Bool
                        switch self {
                        case .checkerboard: on = (t + x + mu + k) % 2 == 1
                        case .checkerboardSwapped: on = (t + x + mu + k) % 2 == 0
                        case .muAlternating: on = mu == k % 2
                        }
                        row[layout.index(t: t, x: x, mu: mu, lt: lt, lx: lx)] = on ? 1 : 0
                    }
                }
            }
            return row
        }
    }
}

import Foundation

/// Contour lines of a function sampled on a regular grid, by marching squares: for each cell
/// whose corners straddle the level, one or two segments between the edge crossings (linear
/// interpolation along each edge; the saddle case is resolved by the cell's centre value).
/// Deterministic, no allocation beyond the segments.
public enum ContourLines {
    /// Segments ((x1, y1), (x2, y2)) where `f = level`; `values[j][i] = f(xs[i], ys[j])`.
    public static func segments(xs: [Double], ys: [Double], values: [[Double]], level: Double) -> [((Double, Double), (Double, Double))] {
        var out: [((Double, Double), (Double, Double))] = []
        guard xs.count >= 2, ys.count >= 2, values.count == ys.count, values.allSatisfy({ $0.count == xs.count }) else { return out }
        func cross(_ a: (Double, Double, Double), _ b: (Double, Double, Double)) -> (Double, Double) {
            let t = (level - a.2) / (b.2 - a.2)
            return (a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1))
        }
        for j in 0..<(ys.count - 1) {
            for i in 0..<(xs.count - 1) {
                // Corners counter-clockwise from bottom-left.
                let c = [(xs[i], ys[j], values[j][i]), (xs[i + 1], ys[j], values[j][i + 1]),
                         (xs[i + 1], ys[j + 1], values[j + 1][i + 1]), (xs[i], ys[j + 1], values[j + 1][i])]
                var code = 0
                for (k, corner) in c.enumerated() where corner.2 >= level { code |= 1 << k }
                if code == 0 || code == 15 { continue }
                // Edge k joins corner k and k+1.
                var crossings: [(Double, Double)] = []
                for k in 0..<4 {
                    let a = c[k], b = c[(k + 1) % 4]
                    if (a.2 >= level) != (b.2 >= level) { crossings.append(cross(a, b)) }
                }
                if crossings.count == 2 {
                    out.append((crossings[0], crossings[1]))
                } else if crossings.count == 4 {
                    let centre = (c[0].2 + c[1].2 + c[2].2 + c[3].2) / 4
                    // Corner 0 above and the centre above: corner 0's region joins the centre.
                    if (centre >= level) == (c[0].2 >= level) {
                        out.append((crossings[0], crossings[1])); out.append((crossings[2], crossings[3]))
                    } else {
                        out.append((crossings[3], crossings[0])); out.append((crossings[1], crossings[2]))
                    }
                }
            }
        }
        return out
    }
}

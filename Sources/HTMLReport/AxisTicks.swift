import Foundation

/// "Nice" axis ticks: 3 to 8 values of the form m x 10^k, m in {1, 2, 5}, covering [lo, hi]
/// (Heckbert's labelling). Deterministic; degenerate ranges are widened by 1 (or 10 %).
struct AxisTicks: Equatable {
    let lo: Double
    let hi: Double
    let step: Double
    let values: [Double]

    init(lo rawLo: Double, hi rawHi: Double, target: Int = 5) {
        var lo = rawLo.isFinite ? rawLo : 0, hi = rawHi.isFinite ? rawHi : 1
        if hi < lo { swap(&lo, &hi) }
        if hi - lo < 1e-300 {
            let pad = lo == 0 ? 1 : abs(lo) * 0.1
            lo -= pad; hi += pad
        }
        let raw = (hi - lo) / Double(max(1, target))
        let magnitude = pow(10, floor(log10(raw)))
        let m = raw / magnitude
        let nice: Double = m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10
        let step = nice * magnitude
        let first = floor(lo / step) * step, last = ceil(hi / step) * step
        var v: [Double] = []
        var x = first
        while x <= last + step * 1e-9, v.count < 64 {
            v.append(abs(x) < step * 1e-9 ? 0 : x)
            x = first + Double(v.count) * step
        }
        self.lo = first
        self.hi = last
        self.step = step
        values = v
    }

    /// A range used as given (categorical axes), with no ticks.
    init(exactLo: Double, hi: Double) {
        lo = exactLo
        self.hi = hi
        step = 1
        values = []
    }

    /// A tick label: fixed-point with as many decimals as the step needs (`0.25`, `150`), or `%g`
    /// for very large or very small values; never "0.30000000000000004" or "5e+01".
    func label(_ x: Double) -> String {
        if abs(x) < 1e7, step >= 1e-6 {
            let decimals = max(0, Int((-log10(step)).rounded(.up)))
            var s = String(format: "%.\(decimals)f", x)
            if s.contains(".") {
                while s.hasSuffix("0") { s.removeLast() }
                if s.hasSuffix(".") { s.removeLast() }
            }
            return s == "-0" ? "0" : s
        }
        return String(format: "%.6g", x)
    }
}

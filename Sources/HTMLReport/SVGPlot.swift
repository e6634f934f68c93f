import Foundation

/// A small, deterministic SVG chart: axes with nice ticks, line, step and point series, bars,
/// horizontal and vertical reference lines, a legend. Every number is printed with a fixed
/// format, so the same data gives the same bytes (golden-tested). Text is escaped.
///
/// Series longer than ``maxPoints`` are thinned for drawing by keeping every k-th point (the
/// first and the last always); the data themselves are untouched.
public struct SVGPlot {
    public enum Style: Equatable {
        case line, step, points
        /// Consecutive pairs of points are separate segments (contour lines).
        case segments
    }

    public struct Series {
        public var label: String
        public var points: [(x: Double, y: Double)]
        public var style: Style
        /// A fixed colour (else the palette's, by position).
        public var color: String?
        public init(label: String, points: [(x: Double, y: Double)], style: Style = .line, color: String? = nil) {
            self.label = label; self.points = points; self.style = style; self.color = color
        }
    }

    public struct Bar { public var x0: Double; public var x1: Double; public var y: Double
        public init(x0: Double, x1: Double, y: Double) { self.x0 = x0; self.x1 = x1; self.y = y } }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var width = 720
    public var height = 300
    public var series: [Series] = []
    public var bars: [Bar] = []
    public var barLabel = ""
    public var horizontalLines: [(y: Double, label: String)] = []
    public var verticalLines: [(x: Double, label: String)] = []
    /// Fixed y range (else from the data).
    public var yRange: (Double, Double)?
    /// Categorical x axis: labels at x = 0, 1, ... (replacing the numeric ticks).
    public var xCategories: [String]?

    public static let maxPoints = 2000
    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]

    public init(title: String, xLabel: String, yLabel: String) {
        self.title = title; self.xLabel = xLabel; self.yLabel = yLabel
    }

    public func svg() -> String {
        let left = 64.0, right = xCategories == nil ? 16.0 : 110.0, top = 28.0, bottom = xCategories == nil ? 44.0 : 120.0
        let w = Double(width), h = Double(height)
        var xs: [Double] = series.flatMap { $0.points.map(\.x) } + bars.flatMap { [$0.x0, $0.x1] } + verticalLines.map(\.x)
        var ys: [Double] = series.flatMap { $0.points.map(\.y) } + bars.map(\.y) + horizontalLines.map(\.y)
        xs = xs.filter(\.isFinite); ys = ys.filter(\.isFinite)
        if !bars.isEmpty { ys.append(0) }
        if let categories = xCategories { xs += [-0.6, Double(categories.count) - 0.4] }
        let xt = xCategories != nil ? AxisTicks(exactLo: -0.6, hi: Double(xCategories?.count ?? 1) - 0.4) : AxisTicks(lo: xs.min() ?? 0, hi: xs.max() ?? 1)
        let yt = yRange.map { AxisTicks(lo: $0.0, hi: $0.1) } ?? AxisTicks(lo: ys.min() ?? 0, hi: ys.max() ?? 1)
        func px(_ x: Double) -> Double { left + (x - xt.lo) / (xt.hi - xt.lo) * (w - left - right) }
        func py(_ y: Double) -> Double { h - bottom - (y - yt.lo) / (yt.hi - yt.lo) * (h - top - bottom) }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" font-family=\"sans-serif\" font-size=\"11\">\n"
        out += "<rect width=\"\(width)\" height=\"\(height)\" fill=\"#ffffff\"/>\n"
        out += "<text x=\"\(f(w / 2))\" y=\"16\" text-anchor=\"middle\" font-size=\"13\">\(HTMLPage.escape(title))</text>\n"
        // Grid and ticks.
        if let categories = xCategories {
            for (i, label) in categories.enumerated() {
                let x = px(Double(i))
                out += "<text transform=\"translate(\(f(x + 3)) \(f(h - bottom + 8))) rotate(30)\" font-size=\"10\">\(HTMLPage.escape(label))</text>\n"
            }
        } else {
            for x in xt.values {
                out += "<line x1=\"\(f(px(x)))\" y1=\"\(f(top))\" x2=\"\(f(px(x)))\" y2=\"\(f(h - bottom))\" stroke=\"#e5e5e5\"/>"
                out += "<text x=\"\(f(px(x)))\" y=\"\(f(h - bottom + 14))\" text-anchor=\"middle\">\(xt.label(x))</text>\n"
            }
        }
        for y in yt.values {
            out += "<line x1=\"\(f(left))\" y1=\"\(f(py(y)))\" x2=\"\(f(w - right))\" y2=\"\(f(py(y)))\" stroke=\"#e5e5e5\"/>"
            out += "<text x=\"\(f(left - 4))\" y=\"\(f(py(y) + 4))\" text-anchor=\"end\">\(yt.label(y))</text>\n"
        }
        out += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(w - left - right))\" height=\"\(f(h - top - bottom))\" fill=\"none\" stroke=\"#333333\"/>\n"
        out += "<text x=\"\(f((left + w - right) / 2))\" y=\"\(f(h - 8))\" text-anchor=\"middle\">\(HTMLPage.escape(xLabel))</text>\n"
        out += "<text transform=\"translate(14 \(f((top + h - bottom) / 2))) rotate(-90)\" text-anchor=\"middle\">\(HTMLPage.escape(yLabel))</text>\n"
        // Bars.
        for b in bars where b.y.isFinite && b.x0.isFinite && b.x1.isFinite {
            let y0 = py(max(0, yt.lo)), y1 = py(b.y)
            out += "<rect x=\"\(f(px(b.x0)))\" y=\"\(f(min(y0, y1)))\" width=\"\(f(max(0.5, px(b.x1) - px(b.x0))))\" height=\"\(f(abs(y0 - y1)))\" fill=\"#9ecae1\" stroke=\"#6baed6\"/>\n"
        }
        // Reference lines.
        for (y, label) in horizontalLines where y.isFinite {
            out += "<line x1=\"\(f(left))\" y1=\"\(f(py(y)))\" x2=\"\(f(w - right))\" y2=\"\(f(py(y)))\" stroke=\"#000000\" stroke-dasharray=\"6 3\"/>"
            out += "<text x=\"\(f(w - right - 4))\" y=\"\(f(py(y) - 4))\" text-anchor=\"end\">\(HTMLPage.escape(label))</text>\n"
        }
        for (x, label) in verticalLines where x.isFinite {
            out += "<line x1=\"\(f(px(x)))\" y1=\"\(f(top))\" x2=\"\(f(px(x)))\" y2=\"\(f(h - bottom))\" stroke=\"#000000\" stroke-dasharray=\"3 3\"/>"
            out += "<text x=\"\(f(px(x) + 4))\" y=\"\(f(top + 12))\">\(HTMLPage.escape(label))</text>\n"
        }
        // Series.
        for (i, s) in series.enumerated() {
            let color = s.color ?? Self.palette[i % Self.palette.count]
            let pts = Self.thinned(s.points.filter { $0.x.isFinite && $0.y.isFinite })
            switch s.style {
            case .points:
                for p in pts { out += "<circle cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.y)))\" r=\"3\" fill=\"\(color)\"/>" }
                out += "\n"
            case .segments:
                var d = ""
                var k = 0
                let raw = s.points.filter { $0.x.isFinite && $0.y.isFinite }
                while k + 1 < raw.count {
                    d += "M\(f(px(raw[k].x))) \(f(py(raw[k].y)))L\(f(px(raw[k + 1].x))) \(f(py(raw[k + 1].y)))"
                    k += 2
                }
                if !d.isEmpty { out += "<path d=\"\(d)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.2\"/>\n" }
            case .line, .step:
                guard !pts.isEmpty else { continue }
                var d = "M\(f(px(pts[0].x))) \(f(py(pts[0].y)))"
                for b in pts.dropFirst() {
                    d += s.style == .step ? "H\(f(px(b.x)))V\(f(py(b.y)))" : "L\(f(px(b.x))) \(f(py(b.y)))"
                }
                out += "<path d=\"\(d)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.2\"/>\n"
            }
        }
        // Legend.
        var entries = series.enumerated().map { ($0.element.color ?? Self.palette[$0.offset % Self.palette.count], $0.element.label) }.filter { !$0.1.isEmpty }
        if !bars.isEmpty && !barLabel.isEmpty { entries.insert(("#9ecae1", barLabel), at: 0) }
        for (i, (color, label)) in entries.prefix(10).enumerated() {
            let y = top + 8 + Double(i) * 14
            out += "<rect x=\"\(f(left + 8))\" y=\"\(f(y - 8))\" width=\"10\" height=\"10\" fill=\"\(color)\"/>"
            out += "<text x=\"\(f(left + 22))\" y=\"\(f(y + 1))\">\(HTMLPage.escape(label))</text>\n"
        }
        out += "</svg>"
        return out
    }

    static func thinned(_ p: [(x: Double, y: Double)]) -> [(x: Double, y: Double)] {
        guard p.count > maxPoints else { return p }
        let k = (p.count + maxPoints - 1) / maxPoints
        var out = stride(from: 0, to: p.count, by: k).map { p[$0] }
        if let last = p.last, (p.count - 1) % k != 0 { out.append(last) }
        return out
    }
}

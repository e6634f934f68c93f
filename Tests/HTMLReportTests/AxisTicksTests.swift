import XCTest
@testable import HTMLReport

/// Nice ticks and the deterministic SVG.
final class AxisTicksTests: XCTestCase {
    func testTicksCoverTheRangeWithNiceSteps() {
        for (lo, hi) in [(0.0, 1.0), (-3.2, 7.9), (0.6871, 0.7213), (1.0, 1.0), (0.0, 1e-12), (-1e6, 3e6), (200.0, 40_000.0)] {
            let t = AxisTicks(lo: lo, hi: hi)
            XCTAssertLessThanOrEqual(t.lo, min(lo, hi), "\(lo) \(hi)")
            XCTAssertGreaterThanOrEqual(t.hi, max(lo, hi), "\(lo) \(hi)")
            XCTAssertTrue((2...12).contains(t.values.count), "\(lo) \(hi): \(t.values)")
            let mantissa = t.step / pow(10, floor(log10(t.step)))
            XCTAssertTrue([1, 2, 5].contains { abs(mantissa - Double($0)) < 1e-9 }, "step \(t.step)")
            for (a, b) in zip(t.values, t.values.dropFirst()) { XCTAssertEqual(b - a, t.step, accuracy: t.step * 1e-9) }
        }
        XCTAssertEqual(AxisTicks(lo: 0, hi: 1).values.map(AxisTicks(lo: 0, hi: 1).label), ["0", "0.2", "0.4", "0.6", "0.8", "1"])
        XCTAssertEqual(AxisTicks(lo: 0.1, hi: 0.3).label(0.30000000000000004), "0.3")
    }

    func testSVGIsDeterministicEscapedAndThinned() {
        var p = SVGPlot(title: "a <b> & \"c\"", xLabel: "x", yLabel: "y")
        p.series.append(.init(label: "s", points: (0..<10_000).map { (Double($0), sin(Double($0) / 100)) }))
        let a = p.svg(), b = p.svg()
        XCTAssertEqual(a, b)
        XCTAssertTrue(a.contains("a &lt;b&gt; &amp; &quot;c&quot;"))
        XCTAssertFalse(a.contains("<b>"))
        // 10,000 points are drawn as at most maxPoints + 1 path vertices.
        let path = a.components(separatedBy: "<path d=\"").dropFirst().first?.components(separatedBy: "\"").first ?? ""
        XCTAssertLessThanOrEqual(path.filter { $0 == "L" }.count + 1, SVGPlot.maxPoints + 1)
        XCTAssertGreaterThan(path.filter { $0 == "L" }.count, 1000)
        XCTAssertEqual(HTMLPage.escape("x\u{1B}[31m"), "x&#xFFFD;[31m")
    }
}

import Foundation
import StepflowCore
@testable import StepflowServer
@testable import StepflowStorage
import Testing

@Suite("Dashboard charts and HTML helpers")
struct DashboardChartTests {
    let start = Date(timeIntervalSince1970: 1_796_400_000)
    var end: Date { start.addingTimeInterval(3600) }

    func series(_ labels: [Label], _ values: [Double]) -> StoredSeries {
        let step = 3_600_000 / Int64(max(1, values.count))
        return StoredSeries(
            name: "m", type: .gauge, labels: labels,
            points: values.enumerated().map { index, value in
                StoredPoint(timestamp: start.unixMilliseconds + Int64(index) * step, value: .gauge(value), kind: .raw, aggregate: nil)
            })
    }

    func paths(_ svg: String) -> [String] {
        svg.components(separatedBy: "<path ").dropFirst().map { String($0.prefix { $0 != ">" }) }
    }

    @Test("one path per series, its labels escaped in the title; a NaN breaks the line instead of drawing it")
    func pathPerSeries() {
        let chart = SeriesChart(title: "m", series: [
            series([Label("host", "<b>a</b>")], [1, 2, .nan, 4]), series([Label("host", "b")], [3, 3, 3, 3]),
            series([Label("host", "c")], [0]),
        ], start: start, end: end)
        let svg = chart.render()
        let drawn = paths(svg)
        #expect(drawn.count == 3)
        #expect(drawn[0].components(separatedBy: "M").count - 1 == 2, "the NaN splits the first line: \(drawn[0])")
        #expect(drawn[2].contains("l0.1 0"), "a lone point is still drawn")
        #expect(svg.contains("{host=&quot;&lt;b&gt;a&lt;/b&gt;&quot;}"))
        #expect(!svg.contains("<b>"))
        #expect(svg.components(separatedBy: "class=\"hover\"").count - 1 == SeriesChart.hoverBands)
    }

    @Test("a series of 100,000 points is drawn with at most 200, its last point kept, in integer coordinates")
    func thinning() {
        let values = (0..<100_000).map { Double($0 % 1000) }
        let long = series([], values)
        let thinned = SeriesChart.thin(long.points)
        #expect(thinned.count == SeriesChart.maximumPointsPerSeries)
        #expect(thinned.last == long.points.last)
        let svg = SeriesChart(title: "m", series: [long], start: start, end: end).render()
        #expect(svg.utf8.count < 12_000, "\(svg.utf8.count) bytes")
        let path = paths(svg)[0]
        #expect(!path.contains("."), "coordinates are integers: \(path.prefix(200))")
    }

    @Test("extreme values (±1e308, infinities) draw inside the plot and never trap")
    func extremes() {
        let svg = SeriesChart(title: "m", series: [
            series([], [-1e308, 1e308, .infinity, -.infinity, 0, .greatestFiniteMagnitude]),
        ], start: start, end: end).render()
        #expect(paths(svg).count == 1)
        #expect(SeriesChart.ticks(-1e308, 1e308).count >= 2)
    }

    @Test("y-axis ticks are round: 1, 2, 2.5 or 5 times a power of ten, covering the data")
    func roundTicks() {
        #expect(SeriesChart.ticks(0, 25) == [0, 10, 20, 30])
        #expect(SeriesChart.ticks(0, 1770) == [0, 500, 1000, 1500, 2000])
        let small = SeriesChart.ticks(0.2, 0.9)
        #expect(small.count == 5 && abs(small[1] - 0.4) < 1e-12 && abs(small[4] - 1) < 1e-12, "\(small)")
        let ticks = SeriesChart.ticks(-3, 7)
        #expect(ticks.first! <= -3 && ticks.last! >= 7 && ticks.count <= 8)
    }

    @Test("labels shown as a selector parse back to themselves (what a silence made from an alert relies on)")
    func labelsRoundTrip() throws {
        let labels = [Label("alertname", "Disk"), Label("path", "C:\\dir \"x\"\nnext\ttab <b>")]
        let selector = try MetricSelector.parse(HTML.labelText(labels))
        #expect(selector.matchers.map(\.name) == ["alertname", "path"])
        #expect(selector.matchers.allSatisfy { $0.matches(labels) })
        #expect(selector.matchers.map(\.value) == labels.map(\.value))
    }

    @Test("escaping covers text and quoted attributes; query strings are percent-encoded before escaping")
    func escaping() {
        #expect(HTML.escape(#"<a href="x" onclick='y'>&"#) == "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;")
        #expect(HTML.query([("q", #"up{job="a&b"}"#), ("empty", ""), ("none", nil)]) == "?q=up%7Bjob%3D%22a%26b%22%7D")
        #expect(HTML.query([("a", "1"), ("b", "2")]) == "?a=1&amp;b=2")
        #expect(HTML.segment("../x y") == "..%2Fx%20y")
        #expect(HTML.truncated("<" + String(repeating: "x", count: 20), 5).hasPrefix("&lt;xxxx… "))
    }
}

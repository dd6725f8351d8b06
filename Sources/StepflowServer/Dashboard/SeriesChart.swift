import Foundation
import StepflowCore
import StepflowStorage

/// One chart of the Metrics page: an SVG drawn on the server, one `<path>` per series, with axes, a legend and
/// hover values (each of ``hoverBands`` vertical bands carries a `<title>` listing the series' values there,
/// which the browser shows as a tooltip; no script is involved).
///
/// Bounded whatever is stored: at most ``maximumPointsPerSeries`` points per series (evenly thinned, keeping the
/// last) and integer coordinates, so a chart of 20 series stays under ~50 KB.
struct SeriesChart {
    static let width = 1000
    static let height = 260
    static let maximumPointsPerSeries = 200
    static let hoverBands = 40
    /// How many series a band's tooltip lists before "… and N more".
    static let seriesPerTooltip = 4
    private static let plotLeft = 64
    private static let plotTop = 10
    private static let plotBottom = 230

    let title: String
    let series: [StoredSeries]
    let start: Date
    let end: Date

    /// A point's value as charted: the sample for counters and gauges, the sum of observations for histograms and
    /// summaries.
    static func value(_ value: MetricValue) -> Double {
        switch value {
        case .counter(let number), .gauge(let number): number
        case .histogram(let histogram): histogram.sum
        case .summary(let summary): summary.sum
        }
    }

    func render() -> String {
        let startMs = Double(start.unixMilliseconds)
        let spanMs = max(1, Double(end.unixMilliseconds) - startMs)
        let thinned = series.map { Self.thin($0.points) }
        let values = thinned.flatMap { $0.map { Self.value($0.value) } }.filter(\.isFinite)
        var low = values.min() ?? 0
        var high = values.max() ?? 1
        if low == high { (low, high) = (low - 1, high + 1) }
        if low > 0, low < high / 3 { low = 0 }  // anchor mostly-positive data at zero
        let ticks = Self.ticks(low, high)
        if let first = ticks.first, let last = ticks.last, first < last { (low, high) = (first, last) }
        let plotWidth = Double(Self.width - Self.plotLeft - 10)
        let plotHeight = Double(Self.plotBottom - Self.plotTop)
        func x(_ timestamp: Int64) -> Int {
            let fraction = min(1, max(0, (Double(timestamp) - startMs) / spanMs))
            return Self.plotLeft + Int((fraction * plotWidth).rounded())  // range: fraction is within 0…1
        }
        func y(_ value: Double) -> Int {
            let fraction = min(1, max(0, (value - low) / (high - low)))
            return Self.plotBottom - Int((fraction * plotHeight).rounded())  // range: fraction is within 0…1
        }
        var svg = "<svg class=\"chart\" viewBox=\"0 0 \(Self.width) \(Self.height)\" role=\"img\" aria-label=\"\(HTML.escape(title)): \(series.count) series\">"
        // Grid and axis labels.
        for value in ticks {
            let lineY = y(value)
            svg += "<line class=\"grid\" x1=\"\(Self.plotLeft)\" y1=\"\(lineY)\" x2=\"\(Self.width - 10)\" y2=\"\(lineY)\"/>"
            svg += "<text class=\"axis\" x=\"\(Self.plotLeft - 6)\" y=\"\(lineY + 4)\" text-anchor=\"end\">\(HTML.escape(HTML.number(value)))</text>"
        }
        for step in 0...4 {
            let time = start.addingTimeInterval(end.timeIntervalSince(start) * Double(step) / 4)
            let anchor = step == 0 ? "start" : step == 4 ? "end" : "middle"
            svg += "<text class=\"axis\" x=\"\(x(time.unixMilliseconds))\" y=\"\(Self.height - 8)\" text-anchor=\"\(anchor)\">\(axisTime(time))</text>"
        }
        // One path per series.
        for (index, points) in thinned.enumerated() {
            var path = ""
            var pen = "M"
            for point in points {
                let value = Self.value(point.value)
                guard value.isFinite else {
                    pen = "M"  // a gap where the value is NaN or infinite
                    continue
                }
                path += "\(pen)\(x(point.timestamp)) \(y(value))"
                pen = "L"
            }
            if points.count == 1, !path.isEmpty {
                path += "l0.1 0"  // a lone point still shows (round line caps draw it as a dot)
            }
            svg += "<path class=\"series s\(index % 10)\" data-series=\"\(index)\" d=\"\(path)\"><title>\(HTML.labels(series[index].labels))</title></path>"
        }
        // Hover bands: each lists the value of every series at its time (the last point at or before it).
        let bandWidth = plotWidth / Double(Self.hoverBands)
        var cursors = Array(repeating: 0, count: thinned.count)
        for band in 0..<Self.hoverBands {
            let bandEnd = startMs + spanMs * Double(band + 1) / Double(Self.hoverBands)
            var lines: [String] = [HTML.time(Date(timeIntervalSince1970: bandEnd / 1000))]
            var listed = 0
            var more = 0
            for (index, points) in thinned.enumerated() {
                while cursors[index] < points.count, Double(points[cursors[index]].timestamp) <= bandEnd { cursors[index] += 1 }
                guard cursors[index] > 0 else { continue }
                let point = points[cursors[index] - 1]
                if listed < Self.seriesPerTooltip {
                    lines.append(HTML.labels(series[index].labels) + " " + HTML.escape(HTML.number(Self.value(point.value))))
                    listed += 1
                } else {
                    more += 1
                }
            }
            if more > 0 { lines.append("… and \(more) more") }
            let bandX = Double(Self.plotLeft) + bandWidth * Double(band)
            svg += "<rect class=\"hover\" x=\"\(String(format: "%.1f", bandX))\" y=\"\(Self.plotTop)\" width=\"\(String(format: "%.1f", bandWidth))\" height=\"\(Self.plotBottom - Self.plotTop)\"><title>\(lines.joined(separator: "\n"))</title></rect>"
        }
        return svg + "</svg>"
    }

    /// Round values from below `low` to above `high`, 1, 2, 2.5 or 5 times a power of ten apart, about four
    /// steps: the y axis's grid lines. Just `low` and `high` when the range is not finite.
    static func ticks(_ low: Double, _ high: Double) -> [Double] {
        let range = high - low
        guard range.isFinite, range > 0 else { return [low, high] }
        let rough = range / 4
        let magnitude = pow(10, (log10(rough)).rounded(.down))
        guard let step = [1, 2, 2.5, 5, 10].map({ $0 * magnitude }).first(where: { $0 >= rough }), step > 0 else {
            return [low, high]
        }
        let first = (low / step).rounded(.down) * step
        var values: [Double] = []
        var value = first
        while values.count < 8 {
            values.append(value)
            if value >= high { break }
            value = first + step * Double(values.count)
        }
        return values
    }

    /// A time on the x axis: `14:05` within two days, `12-01 14:05` beyond (UTC, as the whole dashboard).
    private func axisTime(_ time: Date) -> String {
        let text = time.rfc3339Seconds  // 2026-12-01T14:05:09Z
        let utf8 = Array(text.utf8)
        guard utf8.count >= 16 else { return HTML.escape(text) }
        let clock = String(decoding: utf8[11..<16], as: UTF8.self)
        guard end.timeIntervalSince(start) > 2 * 86_400 else { return clock }
        return String(decoding: utf8[5..<10], as: UTF8.self) + " " + clock
    }

    /// At most ``maximumPointsPerSeries`` of `points`, evenly spread, the last one kept.
    static func thin(_ points: [StoredPoint]) -> [StoredPoint] {
        guard points.count > maximumPointsPerSeries else { return points }
        let stride = Double(points.count - 1) / Double(maximumPointsPerSeries - 1)
        return (0..<maximumPointsPerSeries).map { index in
            points[min(points.count - 1, Int((Double(index) * stride).rounded()))]  // range: within 0…count-1
        }
    }

    /// The legend: one entry per series, its colour and labels.
    func legend() -> String {
        var html = "<ul class=\"legend\">"
        for (index, item) in series.enumerated() {
            let last = item.points.last.map { " = " + HTML.escape(HTML.number(Self.value($0.value))) } ?? ""
            html += "<li><span class=\"swatch s\(index % 10)\" aria-hidden=\"true\"></span><code>\(HTML.labels(item.labels))</code>\(last)</li>"
        }
        return html + "</ul>"
    }
}

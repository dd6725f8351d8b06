import CoreMetrics
import Foundation
import StepflowCore
import Synchronization

/// A swift-metrics backend: `MetricsSystem.bootstrap(runtime.metricsFactory)` makes an application's `Counter`,
/// `FloatingPointCounter`, `Gauge`, `Meter`, `Recorder` and `Timer` flow into the store and `/metrics`.
///
/// Recording never touches SQLite or the metrics engine: a counter increment is one relaxed atomic add, the
/// others a short lock on their own handler. ``snapshot()`` reads every handler's current value; the host calls
/// it on `metrics.collection_interval` (and at shutdown) and records the result.
///
/// Names and dimension keys are made Prometheus-valid (`http.requests` becomes `http_requests`). Asking twice for
/// the same label, dimensions and kind returns the same handler, so values add up.
public final class StepflowMetricsFactory: MetricsFactory {
    private enum Kind: Hashable { case counter, floatingPointCounter, gauge, histogram }

    private struct Key: Hashable {
        var kind: Kind
        var series: SeriesKey
    }

    private let handlers = Mutex<[Key: any SnapshotHandler]>([:])

    public init() {}

    /// The number of distinct instruments created.
    public var instrumentCount: Int { handlers.withLock { $0.count } }

    /// The current value of every instrument that has one, as samples stamped `timestamp`.
    public func snapshot(at timestamp: Date = Date()) -> [Metric] {
        let all = handlers.withLock { Array($0.values) }
        return all.compactMap { handler in
            handler.value.map { Metric(name: handler.name, value: $0, labels: handler.labels, timestamp: timestamp) }
        }
    }

    public func makeCounter(label: String, dimensions: [(String, String)]) -> CounterHandler {
        handler(.counter, label, dimensions) { StepflowCounterHandler(name: $0, labels: $1) }
    }

    public func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> FloatingPointCounterHandler {
        handler(.floatingPointCounter, label, dimensions) { StepflowFloatingPointCounterHandler(name: $0, labels: $1) }
    }

    public func makeMeter(label: String, dimensions: [(String, String)]) -> MeterHandler {
        handler(.gauge, label, dimensions) { StepflowGaugeHandler(name: $0, labels: $1) }
    }

    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> RecorderHandler {
        if aggregate {
            return handler(.histogram, label, dimensions) { StepflowHistogramHandler(name: $0, labels: $1) }
        }
        return handler(.gauge, label, dimensions) { StepflowGaugeHandler(name: $0, labels: $1) }
    }

    public func makeTimer(label: String, dimensions: [(String, String)]) -> TimerHandler {
        handler(.histogram, Self.secondsName(label), dimensions) { StepflowHistogramHandler(name: $0, labels: $1) }
    }

    public func destroyCounter(_ handler: CounterHandler) { forget(handler) }
    public func destroyFloatingPointCounter(_ handler: FloatingPointCounterHandler) { forget(handler) }
    public func destroyMeter(_ handler: MeterHandler) { forget(handler) }
    public func destroyRecorder(_ handler: RecorderHandler) { forget(handler) }
    public func destroyTimer(_ handler: TimerHandler) { forget(handler) }

    private func handler<H: SnapshotHandler>(
        _ kind: Kind, _ label: String, _ dimensions: [(String, String)], make: (String, [Label]) -> H
    ) -> H {
        let series = SeriesKey(
            name: Self.metricName(label),
            labels: dimensions.map { Label(Self.labelName($0.0), $0.1) })
        let key = Key(kind: kind, series: series)
        return handlers.withLock { handlers in
            if let existing = handlers[key] as? H { return existing }
            let made = make(series.name, series.labels)
            handlers[key] = made
            return made
        }
    }

    private func forget(_ handler: AnyObject) {
        handlers.withLock { handlers in
            if let key = handlers.first(where: { $0.value === handler })?.key { handlers[key] = nil }
        }
    }

    /// A Prometheus metric name: every character outside `[a-zA-Z0-9_:]` becomes `_`, and a leading digit gets `_`.
    static func metricName(_ label: String) -> String {
        sanitize(label, allowColon: true)
    }

    /// A Prometheus label name: every character outside `[a-zA-Z0-9_]` becomes `_`; a reserved `__` prefix is cut.
    static func labelName(_ key: String) -> String {
        var name = sanitize(key, allowColon: false)
        while name.hasPrefix("__") { name.removeFirst() }
        return name
    }

    /// Timers are reported in seconds, with the unit in the name as Prometheus recommends.
    static func secondsName(_ label: String) -> String {
        let name = metricName(label)
        return name.hasSuffix("_seconds") ? name : name + "_seconds"
    }

    private static func sanitize(_ text: String, allowColon: Bool) -> String {
        var out = String(text.unicodeScalars.map { scalar -> Character in
            let ok = (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z")
                || (scalar >= "0" && scalar <= "9") || scalar == "_" || (allowColon && scalar == ":")
            return ok ? Character(scalar) : "_"
        })
        if out.isEmpty || out.first!.isNumber { out = "_" + out }
        return out
    }
}

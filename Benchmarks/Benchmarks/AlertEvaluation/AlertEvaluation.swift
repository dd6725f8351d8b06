import Benchmark
import BenchmarkSupport
import Foundation
import Logging
import StepflowAlerting
import StepflowCore
import StepflowMetrics
import StepflowStorage
import Synchronization

// Issue 6's benchmark: one tick evaluating 1,000 rules over stored data.
//
// The data: 100 metric families (50 counters, 50 gauges) of 10 series each, one sample every 15 s for the last
// hour in `monitoring_metrics` (240,000 rows) and their current values in the engine; 100,000 log entries over the
// last hour in 5 components. The rules, ten of each per family pair:
// - 300 instant-selector rules (`gauge_17 > 90`, some with matchers),
// - 300 `rate(counter_x[5m])` rules, half summed `by (instance)`,
// - 200 `avg_over_time` / `max_over_time` / `quantile_over_time` rules over 10 minutes,
// - 100 `count_logs` rules (by component, level and message filters) over 5 minutes,
// - 100 arithmetic rules (a ratio of two rates).
// Conditions hold for about a tenth of the series, so the tick also opens, stores and notifies alerts.

let now = Date(timeIntervalSince1970: 1_800_000_000)

/// Warnings and errors only: rule creation logs a line per rule at info.
let logger: Logger = {
    var logger = Logger(label: "bench")
    logger.logLevel = .warning
    return logger
}()

final class AlertData: Sendable {
    let engine: AlertEngine

    init() {
        do {
            let database = try MonitoringDatabase(path: try scratchDirectory() + "/alerts.sqlite")
            let metrics = MetricStore(database: database)
            let logs = LogStore(database: database)
            let queue = MetricsWriteQueue(capacity: 10_000_000, batchSize: 1000)
            let series = MetricsEngine(queue: queue, logger: logger)
            var samples: [Metric] = []
            samples.reserveCapacity(10_000)
            for family in 0..<100 {
                let counter = family < 50
                let name = counter ? "requests_\(family)_total" : "temperature_\(family)"
                for instance in 0..<10 {
                    let labels = [Label("instance", "node-\(instance)"), Label("job", "job-\(family % 7)")]
                    for step in 0..<240 {
                        let time = now.addingTimeInterval(-Double(239 - step) * 15)
                        let value: MetricValue = counter
                            ? .counter(Double(step * (instance + 1)))
                            : .gauge(Double((step * 7 + instance * 13) % 100))
                        samples.append(Metric(name: name, value: value, labels: labels, timestamp: time))
                    }
                    _ = series.record([samples.last!])
                }
                if samples.count >= 9_600 || family == 99 {
                    let batch = samples
                    try awaitResult { try await metrics.insert(batch) }
                    samples.removeAll(keepingCapacity: true)
                }
            }
            let components = ["api", "db", "cache", "auth", "billing"]
            let levels: [LogLevel] = [.debug, .info, .info, .warn, .error]
            for batch in stride(from: 0, to: 100_000, by: 10_000) {
                let rows = (batch..<(batch + 10_000)).map { index in
                    LogRow(LogEntry(
                        level: levels[index % 5], message: index % 9 == 0 ? "upstream timeout after 30s" : "request \(index) ok",
                        context: LogContext(component: components[index % 5]),
                        timestamp: now.addingTimeInterval(-3600 + Double(index) * 0.036)))
                }
                try awaitResult { try await logs.insert(rows) }
            }
            let evaluator = AlertQueryEvaluator(engine: series, metrics: metrics, logs: logs, health: nil)
            let notifier = AlertNotifier(channels: [], timeout: .seconds(5), logger: logger)
            engine = AlertEngine(
                store: AlertStore(database: database), evaluator: evaluator, notifier: notifier,
                options: AlertEngineOptions(evaluationInterval: .seconds(30), defaultForDuration: .zero, maxAlertsPerRule: 100),
                logger: logger, now: { now })
            let engine = self.engine
            try awaitResult {
                for rule in Self.rules() { _ = try await engine.createAlertRule(rule) }
            }
        } catch {
            fatalError("cannot build the alert data: \(error)")
        }
    }

    static func rules() -> [AlertRule] {
        var rules: [AlertRule] = []
        func add(_ query: String, _ condition: AlertCondition) {
            // Due at every tick: the ticks are a second apart (the data hardly moves in 12 of them).
            rules.append(AlertRule(name: "rule-\(rules.count)", query: query, condition: condition, evaluationInterval: .milliseconds(1)))
        }
        for index in 0..<300 {
            let gauge = "temperature_\(50 + index % 50)"
            add(index % 3 == 0 ? "\(gauge){instance=~\"node-[0-4]\"}" : gauge, .greaterThan(Double(90 + index % 10)))
        }
        for index in 0..<300 {
            let counter = "requests_\(index % 50)_total"
            add(index % 2 == 0 ? "rate(\(counter)[5m])" : "sum by (instance) (rate(\(counter)[5m]))", .greaterThan(0.6))
        }
        for index in 0..<200 {
            let gauge = "temperature_\(50 + index % 50)"
            switch index % 3 {
            case 0: add("avg_over_time(\(gauge)[10m])", .greaterThan(60))
            case 1: add("max_over_time(\(gauge){job=\"job-\(index % 7)\"}[10m])", .greaterThan(98))
            default: add("quantile_over_time(0.9, \(gauge)[10m])", .greaterThan(95))
            }
        }
        let components = ["api", "db", "cache", "auth", "billing"]
        for index in 0..<100 {
            switch index % 3 {
            case 0: add("count_logs by (component) ({level>=\"error\"}[5m])", .greaterThan(1_000))
            case 1: add("count_logs({component=\"\(components[index % 5])\", message=~\".*timeout.*\"}[5m])", .greaterThan(100))
            default: add("count_logs({level=\"warn\", component=\"\(components[index % 5])\"}[5m])", .greaterThan(500))
            }
        }
        for index in 0..<100 {
            let a = "requests_\(index % 50)_total"
            let b = "requests_\((index + 1) % 50)_total"
            add("sum(rate(\(a)[5m])) / sum(rate(\(b)[5m]))", .greaterThan(1.5))
        }
        return rules
    }
}

let alertData = Mutex<AlertData?>(nil)
/// Ticks across every run of the benchmark body, so that each is a new time and every rule is due.
let ticks = Atomic<Int>(0)
func data() -> AlertData {
    alertData.withLock { stored in
        if let stored { return stored }
        let made = AlertData()
        stored = made
        return made
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark(
        "one tick: 1,000 rules over 240,000 samples and 100,000 log entries",
        configuration: .init(
            metrics: [.wallClock, .mallocCountTotal], timeUnits: .milliseconds, warmupIterations: 1,
            maxDuration: .seconds(60), maxIterations: 10,
            thresholds: [.wallClock: .init(relative: [.p50: 10.0])], setup: { _ = data() })
    ) { benchmark in
        let engine = data().engine
        for _ in benchmark.scaledIterations {
            let tick = ticks.add(1, ordering: .relaxed).newValue
            let ran = await engine.evaluateDue(at: now.addingTimeInterval(Double(tick)))
            if ran != 1_000 { print("tick \(tick): \(ran) of 1,000 rules evaluated; the others failed (see the warnings)") }
        }
    }
}

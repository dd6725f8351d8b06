import CoreMetrics
import StepflowCore
import Synchronization

/// What every handler of ``StepflowMetricsFactory`` can report: its current value as a sample.
protocol SnapshotHandler: AnyObject, Sendable {
    var name: String { get }
    var labels: [Label] { get }
    /// The current value; `nil` when there is nothing to report yet (a meter never set).
    var value: MetricValue? { get }
}

/// `Counter`: a lock-free atomic add on the hot path.
final class StepflowCounterHandler: CounterHandler, SnapshotHandler {
    let name: String
    let labels: [Label]
    private let count = Atomic<Int64>(0)

    init(name: String, labels: [Label]) {
        self.name = name
        self.labels = labels
    }

    func increment(by amount: Int64) {
        guard amount > 0 else { return }
        count.wrappingAdd(amount, ordering: .relaxed)
    }

    func reset() { count.store(0, ordering: .relaxed) }

    var value: MetricValue? { .counter(Double(count.load(ordering: .relaxed))) }
}

/// `FloatingPointCounter`: a short lock (there is no atomic `Double`).
final class StepflowFloatingPointCounterHandler: FloatingPointCounterHandler, SnapshotHandler {
    let name: String
    let labels: [Label]
    private let total = Mutex<Double>(0)

    init(name: String, labels: [Label]) {
        self.name = name
        self.labels = labels
    }

    func increment(by amount: Double) {
        guard amount > 0, amount.isFinite else { return }
        total.withLock { $0 += amount }
    }

    func reset() { total.withLock { $0 = 0 } }

    var value: MetricValue? { .counter(total.withLock { $0 }) }
}

/// `Meter` and non-aggregating `Recorder`: the last value set, a gauge.
final class StepflowGaugeHandler: MeterHandler, RecorderHandler, SnapshotHandler {
    let name: String
    let labels: [Label]
    private let current = Mutex<Double?>(nil)

    init(name: String, labels: [Label]) {
        self.name = name
        self.labels = labels
    }

    func set(_ value: Int64) { set(Double(value)) }
    func set(_ value: Double) { current.withLock { $0 = value } }
    func increment(by amount: Double) { current.withLock { $0 = ($0 ?? 0) + amount } }
    func decrement(by amount: Double) { current.withLock { $0 = ($0 ?? 0) - amount } }
    func record(_ value: Int64) { set(Double(value)) }
    func record(_ value: Double) { set(value) }

    var value: MetricValue? { current.withLock { $0 }.map(MetricValue.gauge) }
}

/// Aggregating `Recorder` and `Timer` (in seconds): a histogram over Prometheus' default buckets.
final class StepflowHistogramHandler: RecorderHandler, TimerHandler, SnapshotHandler {
    private struct State {
        var counts: [UInt64]
        var sum: Double = 0
        var count: UInt64 = 0
    }

    let name: String
    let labels: [Label]
    private let bounds: [Double]
    private let state: Mutex<State>

    init(name: String, labels: [Label], bounds: [Double] = MetricsEngine.defaultBuckets) {
        self.name = name
        self.labels = labels
        self.bounds = bounds
        self.state = Mutex(State(counts: Array(repeating: 0, count: bounds.count)))
    }

    func record(_ value: Int64) { record(Double(value)) }

    func record(_ value: Double) {
        guard !value.isNaN else { return }
        let index = bounds.firstIndex { value <= $0 }
        state.withLock { state in
            if let index { state.counts[index] += 1 }
            state.sum += value
            state.count += 1
        }
    }

    func recordNanoseconds(_ duration: Int64) { record(Double(duration) / 1e9) }

    var value: MetricValue? {
        state.withLock { state in
            var cumulative: UInt64 = 0
            let buckets = zip(bounds, state.counts).map { bound, count in
                cumulative += count
                return HistogramBucket(upperBound: bound, count: cumulative)
            }
            return .histogram(HistogramValue(sum: state.sum, count: state.count, buckets: buckets))
        }
    }
}

import Foundation
import StepflowCore
import StepflowTracing
import Synchronization

/// The profiling API of an application that embeds the host (`runtime.profiler`): `measure("name") { … }` times a
/// block, sync or async, into `stepflow_profile_duration_seconds{name}` (and, for a sync block, its thread's CPU
/// into `stepflow_profile_cpu_seconds_total{name}`), and inside a span of the host's tracer adds an event named
/// after the block with its duration (docs/profiler.md, "Measuring code").
///
/// At most ``maxNames`` names are kept; further ones, and names over ``maxNameBytes`` bytes, are counted as
/// `name="other"`. A measurement costs two clock reads and one lock.
public final class Profiler: Sendable {
    /// The most distinct names kept.
    public static let maxNames = 1000
    /// The longest name kept.
    public static let maxNameBytes = 256

    private struct Entry {
        var durations: BucketCounts
        var errors: UInt64 = 0
        var cpuSeconds: Double = 0

        mutating func add(seconds: Double, cpuSeconds: Double?, bucket: Int, failed: Bool) {
            durations.observe(seconds, bucket: bucket)
            if failed { errors &+= 1 }
            self.cpuSeconds += cpuSeconds ?? 0
        }
    }

    /// The duration histogram's upper bounds, in seconds.
    public let bounds: [Double]
    private let entries = Mutex<[String: Entry]>([:])

    /// - Parameter bounds: the duration histogram's upper bounds, in seconds (`profiler.span_buckets`).
    public init(bounds: [Double]) {
        self.bounds = Array(Set(bounds.filter(\.isFinite))).sorted()
    }

    /// Runs `body`, recording its duration and its thread's CPU time under `name`; returns what it returns and
    /// rethrows what it throws (counted in `stepflow_profile_errors_total`).
    public func measure<T, E: Error>(_ name: String, _ body: () throws(E) -> T) throws(E) -> T {
        let start = ContinuousClock.now
        let cpuStart = ThreadCPUTime.nanoseconds()
        do {
            let value = try body()
            finish(name, start: start, cpuNanoseconds: ThreadCPUTime.nanoseconds() &- cpuStart, failed: false)
            return value
        } catch {
            finish(name, start: start, cpuNanoseconds: ThreadCPUTime.nanoseconds() &- cpuStart, failed: true)
            throw error
        }
    }

    /// Awaits `body`, recording its duration under `name` (its CPU is not: an async block may hop threads).
    public func measure<T, E: Error>(
        _ name: String, isolation: isolated (any Actor)? = #isolation, _ body: () async throws(E) -> T
    ) async throws(E) -> T {
        let start = ContinuousClock.now
        do {
            let value = try await body()
            finish(name, start: start, cpuNanoseconds: nil, failed: false)
            return value
        } catch {
            finish(name, start: start, cpuNanoseconds: nil, failed: true)
            throw error
        }
    }

    private func finish(_ name: String, start: ContinuousClock.Instant, cpuNanoseconds: UInt64?, failed: Bool) {
        let seconds = max(0, start.duration(to: .now).inSeconds)
        let cpuSeconds = cpuNanoseconds.map { Double($0) / 1e9 }
        StepflowTracingSpan.current?.addProfileEvent(name, seconds: seconds, cpuSeconds: cpuSeconds)
        let bucket = BucketCounts.bucket(of: seconds, in: bounds)
        let boundCount = bounds.count
        entries.withLock { entries in
            var key = name
            if entries[key] == nil, key.utf8.count > Self.maxNameBytes || entries.count >= Self.maxNames {
                key = "other"
            }
            entries[key, default: Entry(durations: BucketCounts(boundCount: boundCount))].add(
                seconds: seconds, cpuSeconds: cpuSeconds, bucket: bucket, failed: failed)
        }
    }

    /// How many times `name` was measured, and its total seconds (for tests and `/api/v1/profile`).
    public func totals(of name: String) -> (count: UInt64, seconds: Double, cpuSeconds: Double)? {
        entries.withLock { $0[name].map { ($0.durations.count, $0.durations.sum, $0.cpuSeconds) } }
    }

    /// The series, as of `now`.
    public func series(at now: Date) -> [MetricInfo] {
        let snapshot = entries.withLock { $0.sorted { $0.key < $1.key } }
        var out: [MetricInfo] = []
        for (name, entry) in snapshot {
            let labels = [Label("name", name)]
            out.append(MetricInfo(
                name: "stepflow_profile_duration_seconds", type: .histogram, labels: labels,
                help: "Duration of the blocks an application measured with runtime.profiler.measure.",
                value: .histogram(entry.durations.histogram(bounds: bounds)), lastUpdated: now))
            out.append(MetricInfo(
                name: "stepflow_profile_cpu_seconds_total", type: .counter, labels: labels,
                help: "CPU time of the synchronous blocks measured with runtime.profiler.measure.",
                value: .counter(entry.cpuSeconds), lastUpdated: now))
            out.append(MetricInfo(
                name: "stepflow_profile_errors_total", type: .counter, labels: labels,
                help: "Measured blocks that threw.", value: .counter(Double(entry.errors)), lastUpdated: now))
        }
        return out
    }
}

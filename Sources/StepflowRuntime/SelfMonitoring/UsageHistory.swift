import Foundation
import StepflowCore
import StepflowScheduling
import Synchronization

/// The host's CPU counters over the last minute, for "top by CPU over the last minute" in `GET /api/v1/profile`
/// and `stepflow-monitor top`: a snapshot every ``interval``, the last ``keep`` kept.
final class UsageHistory: Sendable {
    /// Cumulative CPU seconds at one moment.
    struct Snapshot: Sendable {
        var at: ContinuousClock.Instant
        var jobs: [String: Double]
        var plugins: [String: Double]
        var threads: [Int32: Double]
        var process: Double
    }

    /// How often the sampling job takes a snapshot.
    static let interval: Duration = .seconds(10)
    /// Snapshots kept: one minute and one more.
    static let keep = 7

    private let snapshots = Mutex<[Snapshot]>([])

    func record(_ snapshot: Snapshot) {
        snapshots.withLock { snapshots in
            snapshots.append(snapshot)
            if snapshots.count > Self.keep { snapshots.removeFirst(snapshots.count - Self.keep) }
        }
    }

    /// The snapshot to measure "the last minute" from: the newest one at least a minute old, else the oldest
    /// (less than a minute after start, the window is shorter; the report says how long).
    func baseline(now: ContinuousClock.Instant = .now, window: Duration = .seconds(60)) -> Snapshot? {
        snapshots.withLock { snapshots in
            snapshots.last { $0.at.duration(to: now) >= window } ?? snapshots.first
        }
    }
}

/// Takes a snapshot of the host's CPU counters into a ``UsageHistory`` every ``UsageHistory/interval``.
struct UsageSampleJob: ScheduledJob {
    let name = "profiler:usage"
    let kind = "builtin"
    let history: UsageHistory
    let snapshot: @Sendable () -> UsageHistory.Snapshot

    func run() async throws {
        history.record(snapshot())
    }
}

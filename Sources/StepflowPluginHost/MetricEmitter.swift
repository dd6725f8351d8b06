import CStepflowPlugin
import Foundation
import StepflowCore
import Synchronization

/// The Swift object behind a `stepflow_emitter *`: collects the samples of one `collect_metrics` call.
final class MetricEmitter: Sendable {
    private struct State {
        var metrics: [Metric] = []
        var accepted = 0
    }

    private let host: PluginHostContext
    private let budget: Int
    private let state = Mutex(State())

    /// - Parameter budget: the most samples one collection may hand over; the rest are refused as `overBudget`.
    init(host: PluginHostContext, budget: Int) {
        self.host = host
        self.budget = budget
    }

    /// The value passed to the plugin as `stepflow_emitter *`. Valid while this object is alive.
    var opaque: OpaquePointer { OpaquePointer(Unmanaged.passUnretained(self).toOpaque()) }

    /// The object behind a `stepflow_emitter *` the host handed out.
    static func from(_ pointer: OpaquePointer) -> MetricEmitter {
        Unmanaged<MetricEmitter>.fromOpaque(UnsafeRawPointer(pointer)).takeUnretainedValue()
    }

    /// The samples accepted so far.
    var metrics: [Metric] { state.withLock { $0.metrics } }

    /// Copies `count` samples; invalid ones are refused one by one and counted on the host context.
    /// Returns `STEPFLOW_ERR_BUDGET` when samples past the budget were dropped, else `STEPFLOW_OK`.
    func emit(_ samples: UnsafePointer<stepflow_metric>?, count: Int) -> Int32 {
        guard count > 0 else { return STEPFLOW_OK }
        guard let samples else {
            host.countRefusal(.nullPointer, detail: "emit_metrics was called with count \(count) and NULL metrics")
            return STEPFLOW_ERR_INVALID
        }
        let now = Date()
        var converted: [Metric] = []
        converted.reserveCapacity(count)
        var refusals: [MetricRefusal] = []
        // One lock for the whole batch; refusals are counted (and logged) after it is released.
        host.interner.withLock { interner in
            interner.beginCall()
            for index in 0..<count {
                do throws(MetricRefusal) {
                    converted.append(try MetricConversion.metric(from: samples[index], now: now, interner: &interner))
                } catch {
                    refusals.append(error)
                }
            }
        }
        for refusal in refusals { host.countRefusal(refusal.reason, detail: refusal.detail) }
        let dropped = state.withLock { state -> Int in
            let room = max(0, budget - state.accepted)
            let taken = min(room, converted.count)
            if state.metrics.isEmpty, taken == converted.count {
                state.metrics = converted  // the common case: no copy
            } else {
                state.metrics.append(contentsOf: converted.prefix(taken))
            }
            state.accepted += taken
            return converted.count - taken
        }
        guard dropped == 0 else {
            for _ in 0..<dropped {
                host.countRefusal(.overBudget, detail: "the collection exceeded its budget of \(budget) samples")
            }
            return STEPFLOW_ERR_BUDGET
        }
        return STEPFLOW_OK
    }
}

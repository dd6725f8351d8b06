import CStepflowPlugin
import Foundation
import StepflowCore
import Synchronization

/// The Swift object behind a `stepflow_emitter *`: collects the samples of one `collect_metrics` call into one
/// ``MetricBatch``.
final class MetricEmitter: Sendable {
    private let host: PluginHostContext
    private let budget: Int
    private let state = Mutex(MetricBatch())

    /// - Parameter budget: the most samples one collection may hand over; the rest are refused as `overBudget`.
    init(host: PluginHostContext, budget: Int) {
        self.host = host
        self.budget = budget
        host.interner.withLock { $0.beginBatch() }
    }

    /// The value passed to the plugin as `stepflow_emitter *`. Valid while this object is alive.
    var opaque: OpaquePointer { OpaquePointer(Unmanaged.passUnretained(self).toOpaque()) }

    /// The object behind a `stepflow_emitter *` the host handed out.
    static func from(_ pointer: OpaquePointer) -> MetricEmitter {
        Unmanaged<MetricEmitter>.fromOpaque(UnsafeRawPointer(pointer)).takeUnretainedValue()
    }

    /// The samples accepted so far.
    var batch: MetricBatch { state.withLock { $0 } }

    /// Copies `count` samples; invalid ones are refused one by one and counted on the host context.
    /// Returns `STEPFLOW_ERR_BUDGET` when samples past the budget were dropped, else `STEPFLOW_OK`.
    func emit(_ samples: UnsafePointer<stepflow_metric>?, count: Int) -> Int32 {
        guard count > 0 else { return STEPFLOW_OK }
        guard let samples else {
            host.countRefusal(.nullPointer, detail: "emit_metrics was called with count \(count) and NULL metrics")
            return STEPFLOW_ERR_INVALID
        }
        let now = Date().unixMilliseconds
        var refusals: [MetricRefusal] = []
        var dropped = 0
        // One lock for the whole call; refusals are counted (and logged) after it is released.
        state.withLock { batch in
            if batch.isEmpty { batch.reserveCapacity(samples: min(count, budget), labels: min(count, budget) * 4) }
            host.interner.withLock { interner in
                interner.beginCall()
                for index in 0..<count {
                    guard batch.count < budget else {
                        dropped = count - index
                        break
                    }
                    do throws(MetricRefusal) {
                        try MetricConversion.append(samples[index], to: &batch, now: now, interner: &interner)
                    } catch {
                        refusals.append(error)
                    }
                }
            }
        }
        for refusal in refusals { host.countRefusal(refusal.reason, detail: refusal.detail) }
        guard dropped == 0 else {
            host.countRefusals(
                .overBudget, count: dropped, detail: "the collection exceeded its budget of \(budget) samples")
            return STEPFLOW_ERR_BUDGET
        }
        return STEPFLOW_OK
    }
}

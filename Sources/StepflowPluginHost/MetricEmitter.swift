import CStepflowPlugin
import Foundation
import StepflowCore
import Synchronization

/// The Swift object behind a `stepflow_emitter *`: collects the samples of one `collect_metrics` call into one
/// ``MetricBatch``.
final class MetricEmitter: Sendable {
    private let host: PluginHostContext
    private let budget: Int
    private let state = Mutex(State())

    /// The batch being built, and where the registered series' strings and labels are in it.
    private struct State: Sendable {
        var batch = MetricBatch()
        var registered: MetricBatch.TemplateOffsets?
    }

    /// The live emitters, by handle.
    static let registry = HandleRegistry<MetricEmitter>()
    /// This emitter's handle, until ``expire()``.
    private let handle = Atomic<UInt>(0)

    /// - Parameter budget: the most samples one collection may hand over; the rest are refused as `overBudget`.
    init(host: PluginHostContext, budget: Int) {
        self.host = host
        self.budget = budget
        host.interner.withLock { $0.beginBatch() }
        handle.store(Self.registry.register(self), ordering: .relaxed)
    }

    /// The value passed to the plugin as `stepflow_emitter *`: a handle, valid until ``expire()``.
    var opaque: OpaquePointer { OpaquePointer(bitPattern: handle.load(ordering: .relaxed))! }

    /// The emitter behind a `stepflow_emitter *`, or `nil` (counted as misuse of `call`) when its collection is
    /// over.
    static func from(_ pointer: OpaquePointer, call: String) -> MetricEmitter? {
        registry.object(passedTo: call, pointer)
    }

    /// Ends the handle's life: called when `collect_metrics` returns.
    func expire() { Self.registry.expire(handle.load(ordering: .relaxed), plugin: host.pluginName) }

    /// The samples accepted so far.
    var batch: MetricBatch { state.withLock { $0.batch } }

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
        state.withLock { state in
            if state.batch.isEmpty {
                state.batch.reserveCapacity(samples: min(count, budget), labels: min(count, budget) * 4)
            }
            host.interner.withLock { interner in
                interner.beginCall()
                for index in 0..<count {
                    guard state.batch.count < budget else {
                        dropped = count - index
                        break
                    }
                    do throws(MetricRefusal) {
                        try MetricConversion.append(samples[index], to: &state.batch, now: now, interner: &interner)
                    } catch {
                        refusals.append(error)
                    }
                }
            }
        }
        return finish(refusals: refusals, dropped: dropped)
    }

    /// Appends `count` values of registered series: one record each, pointing at the registered strings.
    /// Values of unknown series and invalid counter values are refused one by one; the budget is shared with
    /// ``emit(_:count:)``.
    func emitValues(_ values: UnsafePointer<stepflow_value>?, count: Int) -> Int32 {
        guard count > 0 else { return STEPFLOW_OK }
        guard let values else {
            host.countRefusal(.nullPointer, detail: "emit_values was called with count \(count) and NULL values")
            return STEPFLOW_ERR_INVALID
        }
        let now = Date().unixMilliseconds
        let template = host.registeredSeries
        // Per reason: how many, and the first one's detail (a call may name millions of bad series).
        var refused: [MetricRefusalReason: (count: Int, detail: String)] = [:]
        func refuse(_ reason: MetricRefusalReason, _ detail: @autoclosure () -> String) {
            if let known = refused[reason] { refused[reason] = (known.count + 1, known.detail) } else { refused[reason] = (1, detail()) }
        }
        var dropped = 0
        state.withLock { state in
            // Series registered since the table was added (during this collection) need it added again.
            if state.registered == nil || state.registered!.samples < template.count {
                state.registered = state.batch.appendTable(of: template)
            }
            let offsets = state.registered!
            if state.batch.isEmpty { state.batch.reserveSamples(min(count, budget)) }
            for index in 0..<count {
                guard state.batch.count < budget else {
                    dropped = count - index
                    break
                }
                let value = values[index]
                let series = Int(value.series)
                guard series >= 1, series <= offsets.samples else {
                    refuse(.unknownSeries, "emit_values named series \(value.series), which this instance has not registered "
                        + "(it registered \(offsets.samples))")
                    continue
                }
                if template.type(at: series - 1) == .counter, !(value.value.isFinite && value.value >= 0) {
                    refuse(.invalidCounterValue, "counter \(template.name(at: series - 1)) has value \(value.value); "
                        + "a counter must be a finite number >= 0")
                    continue
                }
                guard ValidTime.contains(milliseconds: value.timestamp_ms) else {
                    refuse(.invalidTimestamp, "\(template.name(at: series - 1)) has timestamp_ms \(value.timestamp_ms), "
                        + "outside \(ValidTime.rangeText)")
                    continue
                }
                state.batch.appendSample(
                    from: template, at: series - 1, offsets: offsets, value: value.value,
                    timestamp: value.timestamp_ms == 0 ? now : value.timestamp_ms)
            }
        }
        for (reason, tally) in refused { host.countRefusals(reason, count: tally.count, detail: tally.detail) }
        return finish(refusals: [], dropped: dropped)
    }

    /// Counts what an emission refused and dropped (outside the batch's lock) and says how it went.
    private func finish(refusals: [MetricRefusal], dropped: Int) -> Int32 {
        for refusal in refusals { host.countRefusal(refusal.reason, detail: refusal.detail) }
        guard dropped == 0 else {
            host.countRefusals(
                .overBudget, count: dropped, detail: "the collection exceeded its budget of \(budget) samples")
            return STEPFLOW_ERR_BUDGET
        }
        return STEPFLOW_OK
    }
}

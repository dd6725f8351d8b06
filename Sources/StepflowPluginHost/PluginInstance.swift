import CStepflowPlugin
import Dispatch
import Logging
import StepflowCore
import Synchronization

/// One created instance of a plugin: the plugin's opaque context plus the host's side of it.
///
/// Every C call runs on the instance's own serial `DispatchQueue`, never on the Swift cooperative pool, because
/// a plugin may block. The async methods are cancellation-aware: when the awaiting task is cancelled (the
/// scheduler cancels it at the call's deadline) they return at once with a `timedOut` error while the C call
/// keeps running on the queue. Until it returns, ``isBusy`` is true and any new call fails with `busy`: the
/// plugin is never called again while a call is stuck, as the ABI promises.
///
/// The log-exporter and alert-notifier calls live in `PluginInstance+LogExporter.swift` and
/// `PluginInstance+AlertNotifier.swift`.
public final class PluginInstance: Sendable {
    /// How many samples one collection may hand over by default.
    public static let defaultSampleBudget = 100_000

    /// The instance name (the config's `name`, or the plugin's own name).
    public let name: String
    /// The library this instance was created from.
    public let library: PluginLibrary
    /// The most samples one collection may hand over; the rest are refused as `overBudget`.
    public let sampleBudget: Int

    private struct State {
        var context: PluginContext?
        var callInFlight: String?
        var isShutDown = false
    }

    let host: PluginHostContext
    private let queue: DispatchQueue
    private let state = Mutex(State())
    private let usageState = Mutex(PluginUsage())

    /// CPU of its calls (thread CPU clock on the instance's queue), samples and bytes handed over.
    public var usage: PluginUsage { usageState.withLock { $0 } }

    /// Creates an instance: calls the plugin's `create` with `settings` as text pairs
    /// (``JSONValue/settingText``), on the instance's queue.
    ///
    /// - Parameters:
    ///   - library: a loaded plugin.
    ///   - name: the instance name; defaults to the plugin's own name.
    ///   - settings: the config's `settings:` map.
    ///   - logger: where the plugin's `log` calls go; `plugin=<name>` is added to its metadata.
    ///   - sampleBudget: the most samples one collection may hand over.
    /// - Throws: ``PluginError`` `createFailed` carrying the plugin's own message, or `timedOut` when the
    ///   calling task is cancelled first (an instance created after that is destroyed when `create` returns).
    public init(
        library: PluginLibrary,
        name: String? = nil,
        settings: [String: JSONValue] = [:],
        logger: Logger = Logger(label: "stepflow.plugin"),
        sampleBudget: Int = PluginInstance.defaultSampleBudget
    ) async throws(PluginError) {
        let instanceName = name ?? library.info.name
        var logger = logger
        logger[metadataKey: "plugin"] = "\(instanceName)"
        self.name = instanceName
        self.library = library
        self.sampleBudget = sampleBudget
        self.host = PluginHostContext(pluginName: instanceName, logger: logger)
        self.queue = DispatchQueue(label: "stepflow.plugin.\(instanceName)")

        guard !library.isUnloaded else {
            throw PluginError(
                .unsupported, plugin: instanceName, path: library.info.path,
                message: "the library was unloaded; load it again to create an instance",
                hint: "call PluginLibrary.load(path:) again")
        }
        let pairs = settings.sorted { $0.key < $1.key }.map { (name: $0.key, value: $0.value.settingText) }
        try await perform("create", needsContext: false) { _ -> Result<Void, PluginError> in
            guard let create = self.library.descriptor.create else {
                return .failure(self.error(.invalidDescriptor, "the descriptor has no create function"))
            }
            var context: UnsafeMutableRawPointer?
            let status = withBorrowedSettings(pairs) { settings, count in
                create(HostAPI.table, self.host.opaque, settings, count, &context)
            }
            self.host.endCall()
            guard status == STEPFLOW_OK else {
                return .failure(self.failure(.createFailed, call: "create", status: status))
            }
            self.state.withLock { $0.context = PluginContext(raw: context) }
            return .success(())
        }
    }

    deinit {
        let context = state.withLock { state -> PluginContext? in
            defer { state.context = nil }
            return state.context
        }
        // An instance dropped without `shutdown()` is still destroyed, after any call in flight.
        let host = self.host
        if let context, let destroy = library.descriptor.destroy {
            // The library must stay loaded until `destroy` has run (a C plugin is unloaded with its last reference).
            let library = self.library
            queue.async {
                destroy(context.raw)
                host.expire()
                withExtendedLifetime(library) {}
            }
        } else {
            queue.async { host.expire() }
        }
    }

    /// Whether a C call on this instance is still running (possibly after its caller gave up on it).
    public var isBusy: Bool { state.withLock { $0.callInFlight != nil } }

    /// How many samples the host refused so far, by reason (invalid names, non-integer counters, ...).
    public var refusedSamples: [MetricRefusalReason: Int] { host.refusalCounts }

    /// How many series the plugin registered with `register_series` (host API 1.1; the Swift SDK registers the
    /// counters and gauges it sees twice).
    public var registeredSeriesCount: Int { host.registeredSeries.count }

    /// Calls the plugin's `collect_metrics` and returns the samples it emitted, as one ``MetricBatch``.
    ///
    /// Invalid samples are refused one by one and counted in ``refusedSamples``; the rest are returned.
    /// Samples emitted by a call that then fails are discarded.
    /// - Throws: ``PluginError`` `callFailed` (with the plugin's message), `timedOut` when the awaiting task is
    ///   cancelled, `busy` when a previous call has not returned, `unsupported` when the plugin is not a metrics
    ///   collector or the instance is shut down.
    public func collectMetrics() async throws(PluginError) -> MetricBatch {
        try checkCollector()
        return try await perform("collect_metrics", collectCall())
    }

    /// ``collectMetrics()`` on the calling thread, for a caller with a thread of its own and nothing else to do on
    /// it (the plugin runner's request loop, a benchmark measuring the host's side alone): it saves the hops to the
    /// instance's queue and back. Blocks until the plugin returns, with no deadline; never call it on the Swift
    /// cooperative pool from code that must not block.
    public func collectMetricsBlocking() throws(PluginError) -> MetricBatch {
        try checkCollector()
        return try performBlocking("collect_metrics", collectCall())
    }

    private func checkCollector() throws(PluginError) {
        guard library.info.capabilities.contains(.metricsCollector), library.descriptor.collect_metrics != nil else {
            throw error(.unsupported, "the plugin is not a metrics collector (capabilities: \(library.info.capabilities))")
        }
    }

    /// One `collect_metrics` call into a fresh emitter.
    private func collectCall() -> @Sendable (PluginContext?) -> Result<MetricBatch, PluginError> {
        let budget = sampleBudget
        return { context in
            guard let collect = self.library.descriptor.collect_metrics else {
                return .failure(self.error(.unsupported, "the plugin has no collect_metrics function"))
            }
            let emitter = MetricEmitter(host: self.host, budget: budget)
            let status = collect(context?.raw, emitter.opaque)
            self.host.endCall()  // at once: a set_error from now on comes from a thread of the plugin
            // From here a call with this emitter (a plugin thread that kept it) is refused, not followed.
            emitter.expire()
            guard status == STEPFLOW_OK || status == STEPFLOW_ERR_BUDGET else {
                return .failure(self.failure(.callFailed, call: "collect_metrics", status: status))
            }
            let batch = emitter.batch
            self.countHandOver(batch)
            return .success(batch)
        }
    }

    /// Calls the plugin's `metric_names`: the names of the metrics it emits.
    ///
    /// - Throws: ``PluginError`` `unsupported` when the plugin does not implement the optional call, otherwise
    ///   as ``collectMetrics()``.
    public func metricNames() async throws(PluginError) -> [String] {
        guard library.descriptor.metric_names != nil else {
            throw error(.unsupported, "the plugin does not implement the optional metric_names call")
        }
        return try await perform("metric_names") { context in
            guard let names = self.library.descriptor.metric_names else {
                return .failure(self.error(.unsupported, "the plugin has no metric_names function"))
            }
            var array: UnsafePointer<stepflow_str>?
            var count = 0
            let status = names(context?.raw, &array, &count)
            self.host.endCall()
            guard status == STEPFLOW_OK else {
                return .failure(self.failure(.callFailed, call: "metric_names", status: status))
            }
            guard count > 0 else { return .success([]) }
            guard let array else {
                return .failure(self.error(.callFailed, "metric_names returned \(count) names but a NULL array"))
            }
            var result: [String] = []
            result.reserveCapacity(count)
            for index in 0..<count {
                do throws(MetricRefusal) {
                    result.append(try MetricConversion.text(array[index], what: "metric name #\(index)"))
                } catch {
                    return .failure(self.error(.callFailed, "metric_names returned an invalid name: \(error.detail)"))
                }
            }
            return .success(result)
        }
    }

    /// Stops the instance: new calls fail with `unsupported`; waits for any call in flight, then calls `destroy`.
    ///
    /// Waits as long as a stuck call takes to return. Calling it again returns at once.
    public func shutdown() async {
        let context = state.withLock { state -> PluginContext?? in
            guard !state.isShutDown else { return .none }
            state.isShutDown = true
            defer { state.context = nil }
            return .some(state.context)
        }
        guard case .some(let created) = context else { return }
        let destroy = library.descriptor.destroy
        let host = self.host
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                if let created, let destroy { destroy(created.raw) }
                // From here a call with the instance's host handle (a thread the plugin left running) is refused.
                host.expire()
                continuation.resume()
            }
        }
    }

    // MARK: - Running C calls

    /// Runs `body` on the instance's queue and awaits its outcome, or returns `timedOut` as soon as the awaiting
    /// task is cancelled. The instance is busy from the start of the call until `body` returns.
    func perform<Value: Sendable>(
        _ call: String,
        needsContext: Bool = true,
        _ body: @escaping @Sendable (PluginContext?) -> Result<Value, PluginError>
    ) async throws(PluginError) -> Value {
        guard !Task.isCancelled else {
            throw error(.timedOut, "\(call) was not started: the calling task was already cancelled")
        }
        let context = try claim(call, needsContext: needsContext)

        let once = ResumeOnce<Value>()
        let host = self.host
        let outcome = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: ResumeOnce<Value>.Continuation) in
                once.install(continuation)
                queue.async {
                    host.beginCall()
                    let (outcome, cpu) = ThreadCPUTime.measure { body(context) }
                    host.endCall()
                    self.countCall(cpuNanoseconds: cpu)
                    self.state.withLock { $0.callInFlight = nil }
                    once.resume(with: outcome)
                }
            }
        } onCancel: {
            once.resume(
                with: .failure(
                    PluginError(
                        .timedOut, plugin: name, path: library.info.path,
                        message: "\(call) did not return before the calling task was cancelled (its deadline); "
                            + "the call keeps running and the instance stays busy until it returns",
                        hint: "raise the plugin's `timeout`, or fix the plugin so that the call returns sooner"
                    )))
        }
        return try outcome.get()
    }

    /// Runs `body` on the instance's queue, waiting on the calling thread (see ``collectMetricsBlocking()``).
    func performBlocking<Value: Sendable>(
        _ call: String, _ body: @Sendable (PluginContext?) -> Result<Value, PluginError>
    ) throws(PluginError) -> Value {
        let context = try claim(call, needsContext: true)
        let host = self.host
        let outcome = queue.sync {
            host.beginCall()
            let (outcome, cpu) = ThreadCPUTime.measure { body(context) }
            host.endCall()
            self.countCall(cpuNanoseconds: cpu)
            self.state.withLock { $0.callInFlight = nil }
            return outcome
        }
        return try outcome.get()
    }

    private func countCall(cpuNanoseconds: UInt64) {
        usageState.withLock {
            $0.calls &+= 1
            $0.cpuSeconds += Double(cpuNanoseconds) / 1e9
        }
    }

    private func countHandOver(_ batch: MetricBatch) {
        let (samples, bytes) = (UInt64(batch.count), UInt64(batch.byteCount))
        usageState.withLock {
            $0.samples &+= samples
            $0.bytes &+= bytes
        }
    }

    /// Marks `call` as in flight, refusing it when the instance is shut down, busy or (when `needsContext`) not
    /// created; returns the plugin's context.
    private func claim(_ call: String, needsContext: Bool) throws(PluginError) -> PluginContext? {
        try state.withLock { state throws(PluginError) -> PluginContext? in
            if state.isShutDown {
                throw error(.unsupported, "\(call) was refused: the instance has been shut down")
            }
            if let inFlight = state.callInFlight {
                throw PluginError(
                    .busy, plugin: name, path: library.info.path,
                    message: "\(call) was refused: the previous call (\(inFlight)) has not returned yet",
                    hint: "the plugin is stuck or slower than its timeout; it is called again once that call returns"
                )
            }
            if needsContext, state.context == nil {
                throw error(.unsupported, "\(call) was refused: the instance was not created")
            }
            state.callInFlight = call
            return state.context
        }
    }

    func error(_ code: PluginError.Code, _ message: String, hint: String? = nil) -> PluginError {
        PluginError(code, plugin: name, path: library.info.path, message: message, hint: hint)
    }

    /// The error for a call that returned a non-OK status, with the plugin's own message when it set one.
    func failure(_ code: PluginError.Code, call: String, status: Int32) -> PluginError {
        let statusName = PluginABI.statusName(status)
        let message: String
        if let pluginMessage = host.errorMessage, !pluginMessage.isEmpty {
            message = "\(call) returned \(statusName): \(pluginMessage)"
        } else {
            message = "\(call) returned \(statusName) without explaining why (the plugin did not call set_error)"
        }
        let hint: String
        switch status {
        case STEPFLOW_ERR_INVALID: hint = "check the plugin's `settings` in the configuration"
        case STEPFLOW_ERR_UNAVAILABLE: hint = "a resource the plugin needs is missing; it is retried later"
        case STEPFLOW_ERR_UNSUPPORTED: hint = "the plugin does not implement \(call)"
        case STEPFLOW_ERR_NOMEM:
            hint = "an allocation failed in the plugin; with 'isolation: process' its runner is restarted, and "
                + "limits.memory may be too low"
        default: hint = "see the plugin's log lines (plugin=\(name)) for details"
        }
        let reported = status == STEPFLOW_ERR_NOMEM && code == .callFailed ? .outOfMemory : code
        return PluginError(reported, plugin: name, path: library.info.path, message: message, hint: hint)
    }
}

/// A plugin's opaque instance context. Sendable because the host only hands it back to the plugin, on the
/// instance's serial queue, and never dereferences it.
struct PluginContext: @unchecked Sendable {
    let raw: UnsafeMutableRawPointer?
}

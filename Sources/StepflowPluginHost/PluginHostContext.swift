import CStepflowPlugin
import Logging
import StepflowCore
import Synchronization

/// The Swift object behind a `stepflow_host *`: one per plugin instance, owned by the ``PluginInstance``.
///
/// Plugins may call the host functions from any thread, so everything mutable is behind a `Mutex`.
final class PluginHostContext: Sendable {
    /// The instance name, used in log metadata and errors.
    let pluginName: String
    /// The logger plugin `log` calls go to, with `plugin=<name>` metadata.
    let logger: Logger

    /// The instance's cache of names, label values and HELP texts, kept across collections. Locked once per
    /// `emit_metrics` call.
    let interner = Mutex(StringInterner())

    /// The series registered with `register_series`, for the instance's life.
    private let registered = Mutex(RegisteredSeries())

    private struct ErrorState {
        /// The message set during the current call.
        var message: String?
        /// Whether a call of the instance is running (set_error belongs to it).
        var inCall = false
        /// `set_error` calls between calls since the last warning, and when that warning was logged.
        var unlogged = 0
        var lastWarning: ContinuousClock.Instant?
    }

    private let lastError = Mutex(ErrorState())
    private let refusals = Mutex<[MetricRefusalReason: Int]>([:])

    /// The live host handles, by handle.
    static let registry = HandleRegistry<PluginHostContext>()
    /// This context's handle, until ``expire()``.
    private let handle = Atomic<UInt>(0)

    init(pluginName: String, logger: Logger) {
        self.pluginName = pluginName
        self.logger = logger
        handle.store(Self.registry.register(self), ordering: .relaxed)
    }

    /// The value passed to the plugin as `stepflow_host *`: a handle, valid until ``expire()`` (after `destroy`).
    var opaque: OpaquePointer { OpaquePointer(bitPattern: handle.load(ordering: .relaxed))! }

    /// The context behind a `stepflow_host *`, or `nil` (counted as misuse of `call`) after its instance was
    /// destroyed.
    static func from(_ pointer: OpaquePointer, call: String) -> PluginHostContext? {
        registry.object(passedTo: call, pointer)
    }

    /// Ends the handle's life: called after the instance's `destroy`.
    func expire() { Self.registry.expire(handle.load(ordering: .relaxed), plugin: pluginName) }

    /// Forgets the message of a previous failure; called as every plugin call starts.
    func beginCall() {
        lastError.withLock { state in
            state.message = nil
            state.inCall = true
        }
    }

    /// Called the moment a plugin function returns (and again when the host's call ends): a `set_error` after it
    /// comes from a thread of the plugin. The message set during the call stays readable until the next call.
    func endCall() { lastError.withLock { $0.inCall = false } }

    /// Records the plugin's explanation of the error it is about to return. Outside a call (a thread of the
    /// plugin, after its call returned) no error can follow it, so it is logged as a warning instead (the first,
    /// then at most one line a minute with the count), never silently dropped.
    func setError(_ message: String) {
        let now = ContinuousClock.now
        let warning = lastError.withLock { state -> (count: Int, first: Bool)? in
            if state.inCall {
                state.message = message
                return nil
            }
            state.unlogged += 1
            if let last = state.lastWarning, now - last < .seconds(60) { return nil }
            defer {
                state.unlogged = 0
                state.lastWarning = now
            }
            return (state.unlogged, state.lastWarning == nil)
        }
        guard let warning else { return }
        logger.warning(
            "the plugin called set_error between calls, where no error can follow it: \(message)",
            metadata: warning.first ? [:] : ["between_calls_since_last_warning": "\(warning.count)"])
    }

    /// The message the plugin set during the current (or last) call, if any.
    var errorMessage: String? { lastError.withLock { $0.message } }

    /// Counts one refused sample; the first refusal of each reason is logged as a warning.
    func countRefusal(_ reason: MetricRefusalReason, detail: String) {
        countRefusals(reason, count: 1, detail: detail)
    }

    /// Counts `count` samples refused for one reason; the first refusal of each reason is logged as a warning.
    func countRefusals(_ reason: MetricRefusalReason, count: Int, detail: String) {
        guard count > 0 else { return }
        let first = refusals.withLock { counts in
            counts[reason, default: 0] += count
            return counts[reason] == count
        }
        if first {
            logger.warning(
                "refused a sample: \(detail) (further refusals for this reason are logged at debug level)",
                metadata: ["reason": "\(reason)"]
            )
        } else {
            logger.debug("refused a sample: \(detail)", metadata: ["reason": "\(reason)"])
        }
    }

    /// `register_series`: the series' number and `STEPFLOW_OK`, or 0 and `STEPFLOW_ERR_INVALID` (or
    /// `STEPFLOW_ERR_BUDGET` past ``MetricLimits/maxRegisteredSeries``) when it is refused, counted and logged
    /// like a sample.
    func register(_ shape: stepflow_metric) -> (series: stepflow_series, status: Int32) {
        do throws(MetricRefusal) {
            return (try registered.withLock { registered throws(MetricRefusal) in try registered.register(shape) }, STEPFLOW_OK)
        } catch {
            countRefusal(error.reason, detail: "register_series: \(error.detail)")
            return (0, error.reason == .tooManyRegisteredSeries ? STEPFLOW_ERR_BUDGET : STEPFLOW_ERR_INVALID)
        }
    }

    /// The registered series as they are now (a copy-on-write snapshot: taking it copies nothing).
    var registeredSeries: MetricBatch { registered.withLock { $0.template } }

    /// Refused samples so far, by reason.
    var refusalCounts: [MetricRefusalReason: Int] { refusals.withLock { $0 } }
}

import Logging
import Metrics
import StepflowConfig
import StepflowRuntime
import Tracing

/// The README's "Embedding it in a Swift application" example, word for word, so that it keeps compiling.
///
/// Never called: bootstrapping the process-wide logging, metrics and instrumentation systems would change every
/// other test's loggers. The runtime's backends themselves are exercised by `LogTraceAPITests.embedding()`,
/// `TracingBackendTests` and the swift-metrics tests.
enum EmbeddingExample {
    static func main() async throws {
        let runtime = try await MonitoringRuntime(
            loaded: ConfigurationLoader.load(path: nil),  // nil: the embedded default, then STEPFLOW_MONITORING_*
            logger: Logger(label: "stepflow"))
        LoggingSystem.bootstrap(runtime.logHandler)
        MetricsSystem.bootstrap(runtime.metricsFactory)
        InstrumentationSystem.bootstrap(runtime.tracer)

        withSpan("checkout") { _ in
            Logger(label: "shop").info("charging card")  // stored with the span's trace and span ids
        }
    }
}

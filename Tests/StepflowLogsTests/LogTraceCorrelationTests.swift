import Foundation
import Instrumentation
import Logging
import StepflowCore
import StepflowLogs
import StepflowTracing
import Testing

@Suite("The swift-log backend inside a span")
struct LogTraceCorrelationTests {
    @Test("a log line written inside an active span carries its trace and span ids, and its metadata as fields")
    func logInsideSpan() async throws {
        let logs = try LogFixture()
        defer { logs.remove() }
        let engine = logs.engine
        let logger = Logger(label: "checkout") { label in StepflowLogHandler(label: label, engine: engine) }
        let span = StepflowSpanContext(
            traceID: try TraceID.parse("4bf92f3577b34da6a3ce929d0e0e4736"), spanID: try SpanID.parse("00f067aa0ba902b7"),
            sampled: true)
        var context = ServiceContext.topLevel
        context.stepflowSpanContext = span
        ServiceContext.withValue(context) {
            logger.info("started", metadata: ["user_id": "ann", "cart": ["items": "3"]])
        }
        logger.info("outside")
        await logs.writer.flush()
        let entries = try await logs.engine.queryLogs(LogQuery())
        let entry = try #require(entries.first { $0.message == "started" })
        #expect(entry.context.component == "checkout")
        #expect(entry.context.traceID == span.traceID.description)
        #expect(entry.context.spanID == span.spanID.description)
        #expect(entry.context.userID == "ann")
        #expect(entry.context.function == "logInsideSpan()")
        #expect(entry.context.additionalFields["cart"] == .object(["items": .string("3")]))
        #expect(entry.level == .info)
        let outside = try #require(entries.first { $0.message == "outside" })
        #expect(outside.context.traceID == nil)
        #expect(outside.context.spanID == nil)
    }
}

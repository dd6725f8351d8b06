import Foundation
import StepflowCore
import StepflowStorage
import StepflowTestSupport
import StepflowTracing
import Instrumentation
import Logging
import Testing
import Tracing

/// A trace engine on a fresh database, with a clock the test moves.
struct TraceFixture {
    let directory: String
    let engine: TraceEngine
    let writer: BatchWriter<SpanRow, Never>
    let store: TraceStore
    let clock: ManualClock

    init(sampling: Bool = false, rate: Double = 1, maxOpenSpans: Int = 1000) throws {
        directory = Scratch.root + "stepflow-traces-" + UUID().uuidString
        let database = try MonitoringDatabase(path: directory + "/t.sqlite")
        store = TraceStore(database: database)
        let queue = SpanWriteQueue(capacity: 100_000, batchSize: 1000)
        let clock = ManualClock()
        self.clock = clock
        engine = TraceEngine(
            queue: queue, store: store, sampling: sampling, samplingRate: rate, maxDuration: .seconds(300),
            maxOpenSpans: maxOpenSpans, logger: Logger(label: "test"), now: { clock.now })
        let store = self.store
        writer = BatchWriter(queue: queue, name: "spans", flushInterval: .seconds(60), logger: Logger(label: "test")) {
            (rows, _) async throws(MonitoringError) in try await store.insert(rows)
        }
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}

@Suite("The trace engine")
struct TraceEngineTests {
    @Test("a trace of nested spans with events is stored when its spans end and read back as a tree")
    func nestedSpans() async throws {
        let fixture = try TraceFixture()
        defer { fixture.remove() }
        let engine = fixture.engine
        let context = try await engine.createTraceContext(operation: "checkout", metadata: ["tenant": "acme"])
        let root = try await engine.startSpan("POST /checkout", context: context)
        fixture.clock.advance(by: 0.010)
        let child = try await engine.startSpan("reserve stock", context: context.child(of: root))
        let grandchild = try await engine.startSpan("SELECT stock", context: context.child(of: child))
        try await engine.addTraceEvent(grandchild, event: TraceEvent(name: "retry", attributes: ["attempt": 2]))
        fixture.clock.advance(by: 0.040)
        try await engine.endSpan(grandchild, result: .ok)
        try await engine.endSpan(child, result: .error("out of stock"))
        let sibling = try await engine.startSpan("send mail", context: context.child(of: root))
        fixture.clock.advance(by: 0.005)
        try await engine.endSpan(sibling, result: .ok)
        try await engine.endSpan(root, result: SpanResult(status: .ok, attributes: ["http.status_code": 200]))
        await fixture.writer.flush()

        let trace = try #require(try await engine.queryTraces(TraceQuery(traceID: context.traceID)).first)
        #expect(trace.spans.map(\.name) == ["POST /checkout", "reserve stock", "SELECT stock", "send mail"])
        #expect(trace.roots.map(\.name) == ["POST /checkout"])
        #expect(trace.children(of: trace.spans[0]).map(\.name) == ["reserve stock", "send mail"])
        #expect(trace.spans[1].parentSpanID == root.spanID)
        #expect(trace.spans[1].status == .error)
        #expect(trace.spans[1].metadata["error.message"] == .string("out of stock"))
        #expect(trace.spans[2].events.map(\.name) == ["retry"])
        #expect(trace.spans[2].events.first?.attributes["attempt"] == .int(2))
        #expect(trace.spans[0].metadata["http.status_code"] == .int(200))
        #expect(trace.duration == .milliseconds(55))
        #expect(trace.spans[2].duration == .milliseconds(40))
    }

    @Test("queries find traces by operation, time, minimum duration and status; stats give percentiles")
    func queriesAndStats() async throws {
        let fixture = try TraceFixture()
        defer { fixture.remove() }
        let engine = fixture.engine
        for index in 0..<100 {
            let context = engine.newContext(operation: "GET /items")
            let span = engine.start("GET /items", context: context)
            fixture.clock.advance(by: Double(index + 1) / 1000)  // 1 ms … 100 ms
            try engine.end(span, result: index % 10 == 0 ? .error("boom") : .ok)
        }
        await fixture.writer.flush()
        let slow = try await engine.queryTraces(TraceQuery(operation: "GET /items", minimumDuration: .milliseconds(91), limit: 100))
        #expect(slow.count == 10)
        let failed = try await engine.queryTraces(TraceQuery(status: .error, limit: 100))
        #expect(failed.count == 10)
        let stats = try await engine.getTraceStats(filter: nil)
        #expect(stats.traces == 100)
        let operation = try #require(stats.operations.first)
        #expect(operation.count == 100)
        #expect(operation.errorRate == 0.1)
        #expect(operation.p50 == .milliseconds(50))
        #expect(operation.p95 == .milliseconds(95))
        #expect(operation.p99 == .milliseconds(99))
        await #expect(throws: MonitoringError.self) {
            _ = try await engine.queryTraces(TraceQuery(since: Date(), until: Date().addingTimeInterval(-1)))
        }
    }

    @Test("sampling decides per trace id, children follow, and unsampled spans are not stored")
    func sampling() async throws {
        let fixture = try TraceFixture(sampling: true, rate: 0.25)
        defer { fixture.remove() }
        let engine = fixture.engine
        var kept = 0
        for _ in 0..<2000 {
            let context = engine.newContext(operation: "op")
            #expect(context.sampled == engine.isSampled(context.traceID))
            let parent = engine.start("parent", context: context)
            let child = engine.start("child", context: context.child(of: parent))
            #expect(child.sampled == parent.sampled)
            try engine.end(child, result: .ok)
            try engine.end(parent, result: .ok)
            if context.sampled { kept += 1 }
        }
        await fixture.writer.flush()
        #expect((400...600).contains(kept), "kept \(kept) of 2000 at rate 0.25")
        await #expect(try fixture.store.count() == kept * 2)
        #expect(fixture.engine.counts.unsampled == UInt64((2000 - kept) * 2))
        // The same id always gets the same answer, as every service seeing it decides.
        let id = try TraceID.parse("4bf92f3577b34da6a3ce929d0e0e4736")
        #expect((0..<10).allSatisfy { _ in engine.isSampled(id) == engine.isSampled(id) })
        let none = try TraceFixture(sampling: true, rate: 0)
        defer { none.remove() }
        #expect(!none.engine.newContext(operation: "x").sampled)
    }

    @Test("a span open past max_trace_duration is closed as timed out; ending it later is an error")
    func timeouts() async throws {
        let fixture = try TraceFixture()
        defer { fixture.remove() }
        let engine = fixture.engine
        let context = engine.newContext(operation: "stuck")
        let stuck = engine.start("stuck", context: context)
        fixture.clock.advance(by: 200)
        let fresh = engine.start("fresh", context: context)
        fixture.clock.advance(by: 101)
        #expect(engine.closeExpired() == 1)
        #expect(engine.openSpans == 1)
        await fixture.writer.flush()
        let stored = try await #require(try fixture.store.trace(context.traceID)).spans
        #expect(stored.map(\.status) == [.timedOut])
        let error = #expect(throws: MonitoringError.self) { try engine.end(stuck, result: .ok) }
        #expect(error?.code == .traceNotFound)
        try engine.end(fresh, result: .ok)
        #expect(throws: MonitoringError.self) { try engine.end(fresh, result: .ok) }
    }

    @Test("past max_open_spans a span is returned but not recorded, and counted")
    func openSpanLimit() async throws {
        let fixture = try TraceFixture(maxOpenSpans: 2)
        defer { fixture.remove() }
        let context = fixture.engine.newContext(operation: "x")
        let spans = (0..<3).map { fixture.engine.start("s\($0)", context: context) }
        #expect(spans.map(\.sampled) == [true, true, false])
        #expect(fixture.engine.counts.overflow == 1)
        for span in spans { try fixture.engine.end(span, result: .ok) }
    }

    @Test("traceparent headers parse and print as W3C Trace Context; a bad one says what it should be")
    func propagation() throws {
        let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        let context = try TraceContext(traceparent: header, tracestate: "vendor=x")
        #expect(context.traceID.description == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(context.spanID?.description == "00f067aa0ba902b7")
        #expect(context.sampled)
        #expect(context.traceparent == header)
        #expect(context.tracestate == "vendor=x")
        let unsampled = try TraceContext(traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")
        #expect(!unsampled.sampled)
        for bad in ["", "00-xyz-00f067aa0ba902b7-01", "00-00000000000000000000000000000000-00f067aa0ba902b7-01"] {
            let error = #expect(throws: MonitoringError.self) { try TraceContext(traceparent: bad) }
            #expect(error?.hint?.contains("00-<32 hex trace id>") == true)
        }
        #expect(TraceID(hex: "4BF92F3577B34DA6A3CE929D0E0E4736") != nil)
        #expect(SpanID(hex: "0000000000000000") == nil)
    }
}

/// A carrier for inject and extract: HTTP-style headers.
struct Headers: Sendable {
    var values: [String: String] = [:]
}

struct HeaderExtractor: Extractor {
    func extract(key: String, from carrier: Headers) -> String? { carrier.values[key] }
}

struct HeaderInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout Headers) { carrier.values[key] = value }
}

@Suite("The swift-distributed-tracing and swift-log backends")
struct TracingBackendTests {
    @Test("withSpan lands spans here, nested, with errors recorded, and its span is the active context inside")
    func withSpanAndLogs() async throws {
        let traces = try TraceFixture()
        defer { traces.remove() }
        let tracer = StepflowTracer(engine: traces.engine)
        struct Failure: Error {}
        let captured = SpanIDs()
        tracer.withSpan("handle request") { span in
            span.attributes["http.method"] = "POST"
            captured.set(span.context.stepflowSpanContext)
            do {
                try tracer.withSpan("charge card") { _ in throw Failure() }
            } catch {}
        }
        await traces.writer.flush()
        let ids = try #require(captured.value)
        let trace = try await #require(try traces.store.trace(ids.traceID))
        #expect(trace.spans.map(\.name) == ["handle request", "charge card"])
        #expect(trace.spans[1].parentSpanID == trace.spans[0].spanID)
        #expect(trace.spans[1].status == .error)
        #expect(trace.spans[1].events.map(\.name) == ["exception"])
        #expect(trace.spans[0].metadata["http.method"] == .string("POST"))
    }

    @Test("traceparent goes out of and back into a carrier, so a remote span continues the trace")
    func injectAndExtract() throws {
        let fixture = try TraceFixture()
        defer { fixture.remove() }
        let tracer = StepflowTracer(engine: fixture.engine)
        let span = tracer.startSpan("client call", context: .topLevel)
        var headers = Headers()
        tracer.inject(span.context, into: &headers, using: HeaderInjector())
        let header = try #require(headers.values["traceparent"])
        #expect(header.hasPrefix("00-" + span.context.stepflowSpanContext!.traceID.description))
        var received = ServiceContext.topLevel
        tracer.extract(headers, into: &received, using: HeaderExtractor())
        #expect(received.stepflowSpanContext == span.context.stepflowSpanContext)
        let server = tracer.startSpan("server handler", context: received)
        #expect(server.context.stepflowSpanContext?.traceID == span.context.stepflowSpanContext?.traceID)
        var junk = ServiceContext.topLevel
        tracer.extract(Headers(values: ["traceparent": "garbage"]), into: &junk, using: HeaderExtractor())
        #expect(junk.stepflowSpanContext == nil)
        server.end()
        span.end()
    }
}

final class SpanIDs: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: StepflowSpanContext?
    func set(_ value: StepflowSpanContext?) {
        lock.lock()
        stored = value
        lock.unlock()
    }
    var value: StepflowSpanContext? {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }
}

import Foundation
import Hummingbird
import NIOCore
import StepflowCore
import StepflowIngest
import StepflowLogs
import StepflowStorage
import StepflowTracing

/// What the logs and traces API reads and writes.
public struct LogTraceAPI: Sendable {
    public var logs: LogEngine
    public var traces: TraceEngine
    /// The largest request body accepted (`http.max_body_size`).
    public var maxBodyBytes: Int
    /// When `POST /api/v1/logs` and `/api/v1/spans` are answered (`http.acknowledge`).
    public var ingestPolicy: IngestPolicy
    /// Where ingested entries and spans are counted by outcome (`stepflow_ingest_items_total`).
    public var statistics: IngestStatistics?

    public init(
        logs: LogEngine, traces: TraceEngine, maxBodyBytes: Int, ingestPolicy: IngestPolicy = .default,
        statistics: IngestStatistics? = nil
    ) {
        self.statistics = statistics
        self.logs = logs
        self.traces = traces
        self.maxBodyBytes = maxBodyBytes
        self.ingestPolicy = ingestPolicy
    }
}

/// `POST /api/v1/logs`, `GET /api/v1/logs`, `GET /api/v1/logs/stats`, `GET /api/v1/logs/export`,
/// `POST /api/v1/spans`, `GET /api/v1/traces`, `GET /api/v1/traces/stats`, `GET /api/v1/traces/{id}`.
/// docs/http-api.md has the schemas.
enum LogTraceRoutes {
    static func register(on router: SecuredRouter, api: LogTraceAPI) {
        router.post("/api/v1/logs", needs: .role(.write), ingest: true) { request, _ -> Response in
            guard let body = await collect(request, limit: api.maxBodyBytes) else { return tooLarge(api.maxBodyBytes) }
            let decoded: (entries: [(index: Int, entry: LogEntry)], errors: [MetricJSON.ItemError])
            do throws(MonitoringError) {
                decoded = try LogTraceJSON.logs(body, now: Date())
            } catch {
                return MetricsRoutes.failure(error)
            }
            let (report, outcome) = await api.logs.ingest(decoded.entries.map(\.entry), policy: api.ingestPolicy)
            api.statistics?.count(
                path: "/api/v1/logs", decoded: decoded.entries.count, unreadable: decoded.errors.count,
                accepted: report.accepted, refused: report.refused.count, outcome: outcome)
            var refused = decoded.errors.map { (index: $0.index, name: String?.none, error: $0.message) }
            for item in report.refused { refused.append((decoded.entries[item.index].index, nil, item.reason)) }
            return MetricsRoutes.ingestAnswer(accepted: report.accepted, refused: refused, outcome: outcome)
        }

        router.get("/api/v1/logs", needs: .role(.read)) { request, _ -> Response in
            do throws(MonitoringError) {
                let page = try await api.logs.queryPage(try logQuery(RequestParameters(request)))
                var answer: [String: JSONValue] = [
                    "count": .int(Int64(page.entries.count)), "logs": .array(page.entries.map(LogEntryJSON.object)),
                ]
                answer["next_cursor"] = page.nextCursor.map { .string($0.description) } ?? .null
                return MetricsRoutes.json(.object(answer), status: .ok)
            } catch {
                return MetricsRoutes.failure(error)
            }
        }

        router.get("/api/v1/logs/stats", needs: .role(.read)) { request, _ -> Response in
            do throws(MonitoringError) {
                let parameters = RequestParameters(request)
                let filter = LogFilter(
                    since: try parameters.time("since"), until: try parameters.time("until"),
                    component: parameters.text("component"), minimumLevel: try parameters.text("level").map(LogLevel.parse))
                return MetricsRoutes.json(LogTraceJSON.stats(try await api.logs.getLogStats(filter: filter)), status: .ok)
            } catch {
                return MetricsRoutes.failure(error)
            }
        }

        router.get("/api/v1/logs/export", needs: .role(.read)) { request, _ -> Response in
            let parameters = RequestParameters(request)
            let chunks: LogExportChunks
            let format: ExportFormat
            do throws(MonitoringError) {
                let formatText = parameters.text("format") ?? "ndjson"
                guard let parsed = ExportFormat(rawValue: formatText) else {
                    throw .invalidQuery("format: expected json, ndjson or csv, found '\(formatText)'")
                }
                format = parsed
                var query = try logQuery(parameters)
                if parameters.text("order") == nil { query.order = .oldestFirst }
                chunks = try api.logs.exportChunks(query, format: parsed)
            } catch {
                return MetricsRoutes.failure(error)
            }
            // Streamed: one page of entries in memory at a time, however many the export holds.
            return Response(
                status: .ok,
                headers: [
                    .contentType: format.contentType,
                    .contentDisposition: "attachment; filename=\"logs.\(format.rawValue)\"",
                ],
                body: ResponseBody { writer in
                    for try await chunk in chunks where !chunk.bytes.isEmpty {
                        try await writer.write(ByteBuffer(bytes: chunk.bytes))
                    }
                    try await writer.finish(nil)
                })
        }

        router.post("/api/v1/spans", needs: .role(.write), ingest: true) { request, _ -> Response in
            guard let body = await collect(request, limit: api.maxBodyBytes) else { return tooLarge(api.maxBodyBytes) }
            let decoded: (spans: [(index: Int, span: Span)], errors: [MetricJSON.ItemError])
            do throws(MonitoringError) {
                decoded = try LogTraceJSON.spans(body)
            } catch {
                return MetricsRoutes.failure(error)
            }
            let report = await api.traces.ingest(decoded.spans.map(\.span), policy: api.ingestPolicy)
            api.statistics?.count(
                path: "/api/v1/spans", decoded: decoded.spans.count, unreadable: decoded.errors.count,
                accepted: report.accepted, refused: report.refused.count, outcome: report.outcome)
            var refused = decoded.errors.map { (index: $0.index, name: String?.none, error: $0.message) }
            for item in report.refused { refused.append((decoded.spans[item.index].index, nil, item.reason)) }
            return MetricsRoutes.ingestAnswer(accepted: report.accepted, refused: refused, outcome: report.outcome)
        }

        router.get("/api/v1/traces", needs: .role(.read)) { request, _ -> Response in
            do throws(MonitoringError) {
                let parameters = RequestParameters(request)
                var query = TraceQuery(
                    operation: parameters.text("operation"), since: try parameters.time("since"),
                    until: try parameters.time("until"), limit: try parameters.integer("limit", default: 20, range: 1...1000))
                if let text = parameters.text("min_duration") { query.minimumDuration = try duration(text, "min_duration") }
                if let text = parameters.text("status") {
                    guard let status = SpanStatus(rawValue: text) else {
                        throw .invalidQuery("status: expected ok, error, timed_out or cancelled, found '\(text)'")
                    }
                    query.status = status
                }
                let traces = try await api.traces.queryTraces(query)
                return MetricsRoutes.json(
                    .object(["count": .int(Int64(traces.count)), "traces": .array(traces.map(LogTraceJSON.trace))]),
                    status: .ok)
            } catch {
                return MetricsRoutes.failure(error)
            }
        }

        router.get("/api/v1/traces/stats", needs: .role(.read)) { request, _ -> Response in
            do throws(MonitoringError) {
                let parameters = RequestParameters(request)
                let filter = TraceFilter(
                    since: try parameters.time("since"), until: try parameters.time("until"),
                    operation: parameters.text("operation"))
                return MetricsRoutes.json(LogTraceJSON.stats(try await api.traces.getTraceStats(filter: filter)), status: .ok)
            } catch {
                return MetricsRoutes.failure(error)
            }
        }

        router.get("/api/v1/traces/{id}", needs: .role(.read)) { _, context -> Response in
            do throws(MonitoringError) {
                let text = context.parameters.get("id") ?? ""
                let id = try TraceID.parse(text)
                guard let trace = try await api.traces.queryTraces(TraceQuery(traceID: id)).first else {
                    throw MonitoringError(.traceNotFound, "no trace \(text) is stored", hint: "spans are stored when they end")
                }
                return MetricsRoutes.json(LogTraceJSON.trace(trace), status: .ok)
            } catch {
                return MetricsRoutes.failure(error)
            }
        }
    }

    /// The query parameters of `GET /api/v1/logs` and its export.
    static func logQuery(_ parameters: RequestParameters) throws(MonitoringError) -> LogQuery {
        var query = LogQuery(
            minimumLevel: try parameters.text("level").map(LogLevel.parse), since: try parameters.time("since"),
            until: try parameters.time("until"), component: parameters.text("component"),
            module: parameters.text("module"), function: parameters.text("function"),
            traceID: parameters.text("trace_id"), spanID: parameters.text("span_id"),
            requestID: parameters.text("request_id"), userID: parameters.text("user_id"),
            messageContains: parameters.text("q"),
            limit: try parameters.integer("limit", default: 100, range: 1...LogQuery.maximumLimit))
        if let trace = query.traceID { _ = try TraceID.parse(trace) }
        if let span = query.spanID { _ = try SpanID.parse(span) }
        if let cursor = parameters.text("cursor") { query.cursor = try LogCursor(parsing: cursor) }
        if let order = parameters.text("order") {
            guard let parsed = LogOrder(rawValue: order) else {
                throw .invalidQuery("order: expected newest or oldest, found '\(order)'")
            }
            query.order = parsed
        }
        return try query.validated()
    }

    /// A duration parameter: `250ms`, `2s`, `1m`, or a number of seconds.
    static func duration(_ text: String, _ name: String) throws(MonitoringError) -> Duration {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            if let value = Double(text.dropLast(suffix.count)) { return try seconds(value * scale, name) }
        }
        if let value = Double(text) { return try seconds(value, name) }
        throw .invalidQuery("\(name): expected a duration such as 250ms, 2s or 1m, found '\(text)'")
    }

    /// `value` seconds as a duration, refusing what is negative, not finite or longer than 100 years.
    static func seconds(_ value: Double, _ name: String) throws(MonitoringError) -> Duration {
        guard value.isFinite, value >= 0, value <= 100 * 366 * 86_400 else {
            throw .invalidQuery("\(name): a duration must be from 0 to 100 years, found \(value) seconds")
        }
        return .milliseconds(Int64((value * 1000).rounded()))  // range: 0…100 years, checked above
    }

    static func collect(_ request: Request, limit: Int) async -> [UInt8]? {
        guard let buffer = try? await request.body.collect(upTo: limit) else { return nil }
        return Array(buffer: buffer)
    }

    static func tooLarge(_ limit: Int) -> Response {
        Response(
            status: .contentTooLarge, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: MetricJSON.error(
                "the body is larger than http.max_body_size (\(limit) bytes)", hint: "send smaller batches"))))
    }
}

import Foundation
import Hummingbird
import StepflowCore
import StepflowIngest
import StepflowMetrics
import StepflowStorage

/// What the metrics API reads and writes: the engine (current values, ingest) and the store (history).
public struct MetricsAPI: Sendable {
    public var engine: MetricsEngine
    public var store: MetricStore
    /// The largest request body accepted (`http.max_body_size`); a larger one is answered 413.
    public var maxBodyBytes: Int
    /// When `POST /api/v1/metrics` is answered (`http.acknowledge`).
    public var ingestPolicy: IngestPolicy
    /// The longest one series query may match for (`http.query_timeout`); past it the query gets 400.
    public var queryTimeout: Duration
    /// Where ingested samples are counted by outcome (`stepflow_ingest_items_total`); `nil` counts nothing.
    public var statistics: IngestStatistics?

    public init(
        engine: MetricsEngine, store: MetricStore, maxBodyBytes: Int, ingestPolicy: IngestPolicy = .default,
        queryTimeout: Duration = .seconds(10), statistics: IngestStatistics? = nil
    ) {
        self.statistics = statistics
        self.engine = engine
        self.store = store
        self.maxBodyBytes = maxBodyBytes
        self.ingestPolicy = ingestPolicy
        self.queryTimeout = queryTimeout
    }
}

/// `GET /api/v1/metrics` (series and their current values), `POST /api/v1/metrics` (ingest a JSON batch) and
/// `GET /api/v1/metrics/query` (stored points of a series over a time range). docs/http-api.md has the schemas.
enum MetricsRoutes {
    static func register(on router: SecuredRouter, api: MetricsAPI) {
        router.get("/api/v1/metrics", needs: .role(.read)) { request, _ -> Response in
            do throws(MonitoringError) {
                let filter = try RequestParameters(request).metricFilter()
                let series = try api.engine.snapshot(filter: filter, budget: api.queryTimeout)
                return json(
                    JSONValue.object(["count": .int(Int64(series.count)), "series": .array(series.map(MetricJSON.series))]),
                    status: .ok)
            } catch {
                return failure(error)
            }
        }

        router.post("/api/v1/metrics", needs: .role(.write), ingest: true) { request, _ -> Response in
            let body: ByteBuffer
            do {
                body = try await request.body.collect(upTo: api.maxBodyBytes)
            } catch {
                return Response(
                    status: .contentTooLarge, headers: [.contentType: "application/json; charset=utf-8"],
                    body: .init(byteBuffer: ByteBuffer(string: MetricJSON.error(
                        "the body is larger than http.max_body_size (\(api.maxBodyBytes) bytes)",
                        hint: "send the samples in several smaller batches"))))
            }
            return await ingest(body, api: api)
        }

        router.get("/api/v1/metrics/query", needs: .role(.read)) { request, _ -> Response in
            do throws(MonitoringError) {
                let parameters = RequestParameters(request)
                guard let selectorText = parameters.text("match") ?? parameters.text("name") else {
                    throw .invalidQuery(
                        "name or match is required", hint: "e.g. ?name=node_load1 or ?match=node_load1{instance=\"a\"}")
                }
                let selector = try MetricSelector.parse(selectorText)
                guard let name = selector.name else {
                    throw .invalidQuery("the selector must start with a metric name, found '\(selectorText)'")
                }
                let end = try parameters.time("end") ?? Date()
                let start = try parameters.time("start") ?? end.addingTimeInterval(-3600)
                guard start <= end else {
                    throw .invalidQuery("the time range is inverted: start is after end", hint: "swap start and end")
                }
                let modeText = parameters.text("mode") ?? "auto"
                guard let mode = StoredPointSelection(rawValue: modeText) else {
                    throw .invalidQuery("mode: expected raw, aggregated or auto, found '\(modeText)'")
                }
                let limit = try parameters.integer("limit", default: 10_000, range: 1...100_000)
                let matchers = selector.matchers
                let series = try await api.store.series(
                    named: name, from: start.unixMilliseconds, to: end.unixMilliseconds, selection: mode, limit: limit,
                    matches: { labels in matchers.allSatisfy { $0.matches(labels) } })
                return json(JSONValue.object(["series": .array(series.map(MetricJSON.series))]), status: .ok)
            } catch {
                return failure(error)
            }
        }
    }

    /// Decodes, validates and records an ingest body; ``ingestAnswer(accepted:refused:outcome:)`` says what the
    /// status promises. A body of valid items in the common form is read by the fast reader (``MetricIngestJSON``);
    /// any other by the general decoder, which names each item's error.
    static func ingest(_ body: ByteBuffer, api: MetricsAPI) async -> Response {
        let now = Date()
        if let batch = body.withUnsafeReadableBytes({ MetricIngestJSON.decode($0, now: now.unixMilliseconds) }) {
            let (report, outcome) = await api.engine.ingest(batch, policy: api.ingestPolicy)
            api.statistics?.count(
                path: "/api/v1/metrics", decoded: batch.count, accepted: report.accepted, refused: report.refused.count,
                outcome: outcome)
            let refused = report.refused.map { (index: $0.position, name: Optional($0.name), error: $0.message) }
            return ingestAnswer(accepted: report.accepted, refused: refused, outcome: outcome)
        }
        let decoded: (metrics: [(index: Int, metric: Metric)], errors: [MetricJSON.ItemError])
        do throws(MonitoringError) {
            decoded = try MetricJSON.ingest(Array(buffer: body), now: now)
        } catch {
            return failure(error)
        }
        let (report, outcome) = await api.engine.ingest(MetricBatch(decoded.metrics.map(\.metric)), policy: api.ingestPolicy)
        api.statistics?.count(
            path: "/api/v1/metrics", decoded: decoded.metrics.count, unreadable: decoded.errors.count,
            accepted: report.accepted, refused: report.refused.count, outcome: outcome)
        var refused: [(index: Int, name: String?, error: String)] = decoded.errors.map { ($0.index, $0.name, $0.message) }
        for refusal in report.refused {
            refused.append((decoded.metrics[refusal.position].index, refusal.name, refusal.message))
        }
        return ingestAnswer(accepted: report.accepted, refused: refused, outcome: outcome)
    }

    /// The answer to an ingest request (metrics, logs, spans), and what its status guarantees:
    ///
    /// - 200 `"stored": true`: every accepted row is committed to the database (`acknowledge: committed`);
    /// - 200 `"stored": false`: they are queued in memory (`acknowledge: queued`);
    /// - 202: queued, but not committed within `http.commit_timeout`; they will be written;
    /// - 400: nothing could be recorded (every item refused; each is listed with its position and reason);
    /// - 413: the batch holds more rows than the write queue can take (`*.max_queue_size`); nothing was kept;
    /// - 503 with `Retry-After`: nothing was queued (storage refuses writes, or the queue stayed full); send the
    ///   whole request again.
    static func ingestAnswer(
        accepted: Int, refused: [(index: Int, name: String?, error: String)], outcome: IngestOutcome
    ) -> Response {
        var answer: [String: JSONValue] = [
            "accepted": .int(Int64(accepted)),
            "refused": .array(refused.sorted { $0.index < $1.index }.map { item in
                var object: [String: JSONValue] = ["index": .int(Int64(item.index)), "error": .string(item.error)]
                if let name = item.name { object["name"] = .string(name) }
                return .object(object)
            }),
        ]
        let status: HTTPResponse.Status
        switch outcome {
        case .unavailable(let reason):
            answer["accepted"] = .int(0)
            answer["stored"] = .bool(false)
            answer["error"] = .string(reason)
            answer["hint"] = .string("nothing of this request was kept; send it again after Retry-After seconds")
            var response = json(.object(answer), status: .serviceUnavailable)
            response.headers[.retryAfter] = "5"
            return response
        case .tooLarge(let reason):
            answer["accepted"] = .int(0)
            answer["stored"] = .bool(false)
            answer["error"] = .string(reason)
            status = .contentTooLarge
        case .stored:
            answer["stored"] = .bool(true)
            status = .ok
        case .queued:
            answer["stored"] = .bool(false)
            status = .ok
        case .pending:
            answer["stored"] = .bool(false)
            answer["hint"] = .string("queued, but not yet written within http.commit_timeout; it will be")
            status = .accepted
        case .nothing:
            answer["stored"] = .bool(false)
            status = refused.isEmpty ? .ok : .badRequest
        }
        return json(.object(answer), status: status)
    }

    static func json(_ value: JSONValue, status: HTTPResponse.Status) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: value.jsonText)))
    }

    static func failure(_ error: MonitoringError) -> Response {
        Response(
            status: status(of: error), headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: MetricJSON.error(error))))
    }

    /// The status an error is answered with, by the API and the dashboard alike.
    static func status(of error: MonitoringError) -> HTTPResponse.Status {
        switch error.code {
        case .invalidQuery, .invalidMetricValue, .invalidLogLevel, .invalidAlertCondition: .badRequest
        case .metricNotFound, .traceNotFound, .logNotFound, .alertNotFound, .alertRuleNotFound: .notFound
        case .queueFull: .serviceUnavailable
        // A rule declared in a file (read-only over the API), silences turned off: the configuration says no.
        case .configurationError: .conflict
        default: .internalServerError
        }
    }
}

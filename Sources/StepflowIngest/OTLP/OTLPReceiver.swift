import CompressNIO
import Foundation
import Logging
import NIOCore
import StepflowCore
import StepflowLogs
import StepflowMetrics
import StepflowStorage
import StepflowTracing
import StepflowWireFormats
import SwiftProtobuf

/// The receiving end of OTLP/HTTP 1.x: `POST /v1/traces`, `/v1/logs` and `/v1/metrics`, protobuf or JSON, plain or
/// gzip, answered as the OTLP specification says (docs/ingest.md, "OpenTelemetry (OTLP/HTTP)").
///
/// - 200 with the service's response message, whose `partial_success` counts the items refused and says why;
/// - 400 for a body that cannot be decoded (nothing of it is stored), with a `google.rpc.Status`;
/// - 413 past the size limits, 415 for another content type or encoding;
/// - 503 with `Retry-After` when nothing could be queued (the sender retries).
public final class OTLPReceiver: Sendable {
    /// What a request carries.
    public enum Signal: String, Sendable, CaseIterable {
        case traces, logs, metrics

        /// The route, also the `path` label of the ingest counters.
        public var path: String { "/v1/\(rawValue)" }
    }

    /// What to answer a request with.
    public struct Answer: Sendable {
        public var status: Int
        public var body: [UInt8]
        public var contentType: String
        public var retryAfter: Int?
    }

    private let metrics: MetricsEngine
    private let logs: LogEngine
    private let traces: TraceEngine
    private let policy: IngestPolicy
    private let maxDecompressedBytes: Int
    private let budget: DecodingBudget
    /// The most spans, log records or data points one request may hold.
    private let maxItems: Int
    private let statistics: IngestStatistics
    private let logger: Logger

    /// - Parameters:
    ///   - policy: when a request is answered (`http.acknowledge`) and how long it waits for room.
    ///   - maxDecompressedBytes: the most bytes a gzip body may expand to.
    ///   - maxItems: the most spans, log records or data points one request may hold (`metrics.max_queue_size`);
    ///     a protobuf request of more is refused with 413 before it is decoded, a JSON one after. Any request whose
    ///     decoded form would pass 4 × `maxDecompressedBytes` is refused before it is decoded (``DecodingBudget``).
    public init(
        metrics: MetricsEngine, logs: LogEngine, traces: TraceEngine, policy: IngestPolicy, maxDecompressedBytes: Int,
        maxItems: Int, statistics: IngestStatistics, logger: Logger
    ) {
        self.maxItems = max(maxItems, 1)
        self.metrics = metrics
        self.logs = logs
        self.traces = traces
        self.policy = policy
        self.maxDecompressedBytes = max(maxDecompressedBytes, 1)
        budget = DecodingBudget(maxDecompressedBytes: self.maxDecompressedBytes)
        self.statistics = statistics
        self.logger = logger
    }

    /// Decodes and records one request of `signal`.
    public func receive(_ signal: Signal, body: [UInt8], contentType: String?, contentEncoding: String?) async -> Answer {
        let media = contentType?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        let json: Bool
        switch media {
        case "application/x-protobuf"?: json = false
        case "application/json"?: json = true
        default:
            return failure(
                415, "OTLP/HTTP takes Content-Type: application/x-protobuf or application/json, not '\(contentType?.prefix(128) ?? "none")'",
                json: false)
        }
        var bytes = body
        switch contentEncoding?.trimmingCharacters(in: .whitespaces).lowercased() {
        case nil, "", "identity"?: break
        case "gzip"?:
            var buffer = ByteBuffer(bytes: body)
            do {
                let inflated = try buffer.decompress(with: .gzip(), maxSize: maxDecompressedBytes)
                bytes = Array(buffer: inflated)
            } catch let error as CompressNIOError where error == .bufferOverflow {
                return failure(413, "the gzip body expands past \(maxDecompressedBytes) bytes; send smaller requests", json: json)
            } catch {
                return failure(400, "the body is not valid gzip: \(error)", json: json)
            }
        default:
            return failure(415, "OTLP/HTTP bodies are plain or gzip, not '\(contentEncoding?.prefix(64) ?? "")'", json: json)
        }
        // Counted on the wire before anything is decoded (docs/ingest.md, "Limits").
        let census = bytes.withUnsafeBufferPointer { buffer in
            json ? JSONCensus.census(buffer) : ProtobufWire(buffer).census(OTLPSchema.request(signal), in: 0..<buffer.count)
        }
        if let refusal = budget.refusal(census, body: bytes.count) {
            return failure(413, refusal, json: json)
        }
        if !json, let refusal = checkItems(census.items) {
            return failure(413, refusal, json: json)
        }
        let ids = OTLPIdentifiers(json: json)
        do {
            switch signal {
            case .traces:
                let request: Opentelemetry_Proto_Collector_Trace_V1_ExportTraceServiceRequest = try decode(bytes, json: json)
                let groups = request.resourceSpans.map { ($0.resource, $0.scopeSpans.reduce(0) { $0 + $1.spans.count }) }
                if let refusal = checkDecoded(groups, items: "spans") { return failure(413, refusal, json: json) }
                let (spans, rejected) = OTLPTraces.spans(request, ids: ids)
                return await record(signal, spans, rejected: rejected, json: json) { spans in
                    let report = await traces.ingest(spans, policy: policy)
                    return (report.accepted, report.refused.map(\.reason), report.outcome)
                } response: { count, message in
                    var response = Opentelemetry_Proto_Collector_Trace_V1_ExportTraceServiceResponse()
                    if count > 0 {
                        response.partialSuccess.rejectedSpans = Int64(count)
                        response.partialSuccess.errorMessage = message
                    }
                    return try encode(response, json: json)
                }
            case .logs:
                let request: Opentelemetry_Proto_Collector_Logs_V1_ExportLogsServiceRequest = try decode(bytes, json: json)
                let groups = request.resourceLogs.map { ($0.resource, $0.scopeLogs.reduce(0) { $0 + $1.logRecords.count }) }
                if let refusal = checkDecoded(groups, items: "log records") { return failure(413, refusal, json: json) }
                let (entries, rejected) = OTLPLogs.entries(request, ids: ids, now: Date())
                return await record(signal, entries, rejected: rejected, json: json) { entries in
                    let (report, outcome) = await logs.ingest(entries, policy: policy)
                    return (report.accepted, report.refused.map(\.reason), outcome)
                } response: { count, message in
                    var response = Opentelemetry_Proto_Collector_Logs_V1_ExportLogsServiceResponse()
                    if count > 0 {
                        response.partialSuccess.rejectedLogRecords = Int64(count)
                        response.partialSuccess.errorMessage = message
                    }
                    return try encode(response, json: json)
                }
            case .metrics:
                let request: Opentelemetry_Proto_Collector_Metrics_V1_ExportMetricsServiceRequest = try decode(bytes, json: json)
                // Resource attributes become at most two short labels of each sample: nothing is copied per point.
                if json, let refusal = checkItems(OTLPMetrics.pointCount(request)) { return failure(413, refusal, json: json) }
                let (samples, rejected) = OTLPMetrics.samples(request, now: Date())
                return await record(signal, samples, rejected: rejected, json: json) { samples in
                    let (report, outcome) = await metrics.ingest(MetricBatch(samples), policy: policy, from: .http)
                    return (report.accepted, report.refused.map(\.message), outcome)
                } response: { count, message in
                    var response = Opentelemetry_Proto_Collector_Metrics_V1_ExportMetricsServiceResponse()
                    if count > 0 {
                        response.partialSuccess.rejectedDataPoints = Int64(count)
                        response.partialSuccess.errorMessage = message
                    }
                    return try encode(response, json: json)
                }
            }
        } catch let error as DecodingFailure {
            return failure(400, error.message, json: json)
        } catch {
            return failure(500, "cannot encode the response: \(error)", json: json)
        }
    }

    /// The 413 for a request of more items than one request may hold.
    private func checkItems(_ items: Int) -> String? {
        guard items > maxItems else { return nil }
        return "the request holds \(items) items, more than one request may (\(maxItems), metrics.max_queue_size); "
            + "send smaller batches"
    }

    /// The 413 for a decoded request of too many items (counted here for JSON, whose census does not know
    /// items), or whose resource attributes, copied onto each span or log record of the resource, would pass the
    /// decoding budget.
    private func checkDecoded(_ groups: [(Opentelemetry_Proto_Resource_V1_Resource, Int)], items name: String) -> String? {
        if let refusal = checkItems(groups.reduce(0) { $0 + $1.1 }) { return refusal }
        var copied = 0
        for (resource, items) in groups where items > 0 && !resource.attributes.isEmpty {
            let size = ((try? resource.serializedBytes() as [UInt8])?.count ?? 0) + resource.attributes.count * 64
            copied = copied.addingReportingOverflow(size.multipliedReportingOverflow(by: items).partialValue).partialValue
            if copied > budget.bytes || copied < 0 {
                return "the resource attributes (\(resource.attributes.count), \(size) bytes), copied onto each of \(items) "
                    + "\(name), would take more than \(budget.bytes / 1_048_576) MiB; send fewer \(name) per request"
            }
        }
        return nil
    }

    private struct DecodingFailure: Error {
        let message: String
    }

    private func decode<Request: SwiftProtobuf.Message>(_ bytes: [UInt8], json: Bool) throws -> Request {
        do {
            if json {
                var options = JSONDecodingOptions()
                options.ignoreUnknownFields = true
                return try Request(jsonUTF8Bytes: bytes, options: options)
            }
            var options = BinaryDecodingOptions()
            options.discardUnknownFields = true
            return try Request(serializedBytes: bytes, options: options)
        } catch {
            throw DecodingFailure(
                message: "the body is not an OTLP \(Request.protoMessageName) in \(json ? "JSON" : "protobuf"): \(error)")
        }
    }

    private func encode(_ message: some SwiftProtobuf.Message, json: Bool) throws -> [UInt8] {
        if json {
            let bytes: [UInt8] = try message.jsonUTF8Bytes()
            return bytes
        }
        return try message.serializedBytes()
    }

    /// Hands the converted items to their engine (none: nothing to do) and answers.
    private func record<Item>(
        _ signal: Signal, _ items: [Item], rejected: [String], json: Bool,
        ingest: ([Item]) async -> (accepted: Int, refused: [String], outcome: IngestOutcome),
        response: (Int, String) throws -> [UInt8]
    ) async -> Answer {
        var result = (accepted: 0, refused: [String](), outcome: IngestOutcome.nothing)
        if !items.isEmpty { result = await ingest(items) }
        return answer(
            signal, decoded: items.count, rejected: rejected, accepted: result.accepted, refused: result.refused,
            outcome: result.outcome, json: json, response: response)
    }

    /// The answer once the engine has the items: 200 with the response (and its partial success), or 503 / 413
    /// when nothing was queued.
    private func answer(
        _ signal: Signal, decoded: Int, rejected: [String], accepted: Int, refused: [String], outcome: IngestOutcome,
        json: Bool, response: (Int, String) throws -> [UInt8]
    ) -> Answer {
        statistics.count(
            path: signal.path, decoded: decoded, unreadable: rejected.count, accepted: accepted, refused: refused.count,
            outcome: outcome)
        switch outcome {
        case .unavailable(let reason):
            var answer = failure(503, reason + "; send the request again", json: json)
            answer.retryAfter = 5
            return answer
        case .tooLarge(let reason):
            return failure(413, reason, json: json)
        case .stored, .queued, .pending, .nothing:
            let reasons = rejected + refused
            let message = reasons.first.map { reasons.count > 1 ? "\($0) (and \(reasons.count - 1) more)" : $0 } ?? ""
            do {
                return Answer(
                    status: 200, body: try response(reasons.count, message),
                    contentType: json ? "application/json" : "application/x-protobuf")
            } catch {
                return failure(500, "cannot encode the response: \(error)", json: json)
            }
        }
    }

    /// An error answer: a `google.rpc.Status` with the HTTP status as its code and `message`.
    private func failure(_ status: Int, _ message: String, json: Bool) -> Answer {
        var body = Google_Rpc_Status()
        body.code = Int32(status)
        body.message = message
        let bytes = (try? encode(body, json: json)) ?? Array(message.utf8)
        return Answer(status: status, body: bytes, contentType: json ? "application/json" : "application/x-protobuf")
    }
}

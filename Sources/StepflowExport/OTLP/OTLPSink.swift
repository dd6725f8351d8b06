import AsyncHTTPClient
import Foundation
import StepflowCore
import StepflowWireFormats
import SwiftProtobuf

/// Where and how an ``OTLPSink`` sends (`exporters.otlp`).
public struct OTLPSinkSettings: Sendable {
    /// The base URL (`http://collector:4318`); the signal's path is appended.
    public var endpoint: String
    public var headers: [String: String] = [:]
    public var gzip = true
    public var timeout: Duration = .seconds(10)
    /// Items per request.
    public var maxItems = 512

    public init(endpoint: String) {
        self.endpoint = endpoint
    }
}

/// Sends items of one signal with OTLP/HTTP 1.x, protobuf encoded, as the OpenTelemetry protocol specification
/// says a client does (docs/exporters.md, "OTLP"):
///
/// - 200: read the response's `partial_success`; its rejected count is counted as refused for good (OTLP does not
///   say which items, so the last ones of the request are marked);
/// - 429, 502, 503, 504: retryable; `Retry-After` (seconds or an HTTP date) is honoured;
/// - 400 and other 4xx: the request is refused for good (sending it again cannot help);
/// - 401, 403, 404, 413, other 5xx and connection errors: the run fails and everything is sent again later.
public struct OTLPSink<Item: Sendable>: ExportSink {
    /// What the sink sends: the path under the endpoint and how items become a request.
    public struct Signal: Sendable {
        public var path: String
        public var request: @Sendable ([Item]) -> any SwiftProtobuf.Message
        public var rejected: @Sendable ([UInt8]) -> (count: Int64, message: String)?

        public init(
            path: String, request: @escaping @Sendable ([Item]) -> any SwiftProtobuf.Message,
            rejected: @escaping @Sendable ([UInt8]) -> (count: Int64, message: String)?
        ) {
            self.path = path
            self.request = request
            self.rejected = rejected
        }
    }

    public let name = "otlp"
    public var destination: String { url }
    public let settings: OTLPSinkSettings
    private let signal: Signal
    private let client: HTTPClient
    private let url: String

    public init(settings: OTLPSinkSettings, signal: Signal, client: HTTPClient) {
        self.settings = settings
        self.signal = signal
        self.client = client
        var base = settings.endpoint
        while base.hasSuffix("/") { base.removeLast() }
        url = base + signal.path
    }

    public func send(_ items: [Item]) async throws(MonitoringError) -> ExportResponse {
        var outcomes: [ExportItemOutcome] = []
        var retryAfter: Duration?
        var start = 0
        while start < items.count {
            let chunk = Array(items[start..<min(start + max(settings.maxItems, 1), items.count)])
            start += chunk.count
            let response = try await post(chunk)
            outcomes += response.outcomes
            if let wait = response.retryAfter { retryAfter = max(retryAfter ?? .zero, wait) }
        }
        return ExportResponse(outcomes, retryAfter: retryAfter)
    }

    private func post(_ items: [Item]) async throws(MonitoringError) -> ExportResponse {
        let body: [UInt8]
        do {
            body = try signal.request(items).serializedBytes()
        } catch {
            throw MonitoringError(.exportFailed, "cannot encode an OTLP request: \(error)")
        }
        let post = ExportPost(
            url: url, client: client, timeout: settings.timeout, gzip: settings.gzip,
            unreachableHint: "check that an OTLP/HTTP receiver listens at exporters.otlp.endpoint (port 4318 by default)")
        let response = try await post.send(
            body, headers: [("Content-Type", "application/x-protobuf")] + settings.headers.sorted { $0.key < $1.key },
            maxAnswer: 1 << 20)
        let answer = response.body
        let status = response.status
        let text = { OTLPStatusText.message(answer) }
        switch status {
        case 200..<300:
            guard let (rejected, message) = signal.rejected(answer), rejected > 0 else {
                return ExportResponse(Array(repeating: .sent, count: items.count))
            }
            let refused = Int(clamping: min(rejected, Int64(items.count)))
            return ExportResponse(
                Array(repeating: .sent, count: items.count - refused)
                    + Array(repeating: .refused("partial success: \(message)"), count: refused))
        case 429, 502, 503, 504:
            return ExportResponse(
                Array(repeating: .retry("\(status) \(text())"), count: items.count),
                retryAfter: ExportResponse.retryAfter(header: response.headers.first(name: "Retry-After")))
        case 401, 403:
            throw MonitoringError(
                .networkError, "\(url) answered \(status): \(text())", hint: "check exporters.otlp.headers (credentials)")
        case 404:
            throw MonitoringError(.networkError, "\(url) answered 404", hint: "check exporters.otlp.endpoint: the base URL, without /v1/…")
        case 413:
            throw MonitoringError(
                .networkError, "\(url) answered 413: the request was too large", hint: "lower exporters.otlp.max_batch_items")
        case 400..<500:
            return ExportResponse(Array(repeating: .refused("\(status) \(text())"), count: items.count))
        default:
            throw MonitoringError(.networkError, "\(url) answered \(status): \(text())")
        }
    }
}

/// The message of an OTLP error body (a `google.rpc.Status`), or its start as text.
enum OTLPStatusText {
    static func message(_ body: [UInt8]) -> String {
        if let status = try? Google_Rpc_Status(serializedBytes: body), !status.message.isEmpty {
            return String(status.message.prefix(300))
        }
        return String(decoding: body.prefix(300), as: UTF8.self)
    }
}

extension OTLPSink.Signal where Item == Span {
    /// `/v1/traces`.
    public static func traces(_ requests: OTLPRequests) -> Self {
        Self(path: "/v1/traces", request: { requests.traces($0) }) { body in
            guard let response = try? Opentelemetry_Proto_Collector_Trace_V1_ExportTraceServiceResponse(serializedBytes: body) else { return nil }
            return (response.partialSuccess.rejectedSpans, response.partialSuccess.errorMessage)
        }
    }
}

extension OTLPSink.Signal where Item == LogEntry {
    /// `/v1/logs`.
    public static func logs(_ requests: OTLPRequests) -> Self {
        Self(path: "/v1/logs", request: { requests.logs($0) }) { body in
            guard let response = try? Opentelemetry_Proto_Collector_Logs_V1_ExportLogsServiceResponse(serializedBytes: body) else { return nil }
            return (response.partialSuccess.rejectedLogRecords, response.partialSuccess.errorMessage)
        }
    }
}

extension OTLPSink.Signal where Item == Metric {
    /// `/v1/metrics`; a sample is one data point.
    public static func metrics(_ requests: OTLPRequests) -> Self {
        Self(path: "/v1/metrics", request: { requests.metrics($0) }) { body in
            guard let response = try? Opentelemetry_Proto_Collector_Metrics_V1_ExportMetricsServiceResponse(serializedBytes: body) else { return nil }
            return (response.partialSuccess.rejectedDataPoints, response.partialSuccess.errorMessage)
        }
    }
}

import AsyncHTTPClient
import Foundation
import NIOCore
import StepflowCore
import StepflowWireFormats
import SwiftProtobuf

/// Sends samples to a Prometheus remote-write 1.0 receiver (Prometheus with `--web.enable-remote-write-receiver`,
/// Mimir, Thanos receive, VictoriaMetrics, …): a snappy-compressed protobuf `WriteRequest` per call.
///
/// Histograms and summaries go as the series Prometheus' text format has (`_bucket` with `le`, quantiles, `_sum`,
/// `_count`), each series' samples in time order, with the HELP texts and types as metadata.
public struct RemoteWriteClient: Sendable {
    /// How one send ended when the receiver answered.
    public enum Outcome: Sendable, Equatable {
        /// 2xx: everything was taken.
        case accepted
        /// A 4xx other than 401, 403, 404 and 429: the receiver will never take this request (out-of-order samples, a bad label, a
        /// limit); sending it again would fail again. Carries the status and the start of the answer.
        case rejected(status: Int, message: String)
    }

    /// The receiver's URL, e.g. `http://127.0.0.1:9090/api/v1/write`.
    public let endpoint: String
    /// `exporters.external_labels`: added to every series that has no label of that name.
    public let externalLabels: [Label]
    private let client: HTTPClient

    public init(endpoint: String, externalLabels: [Label] = [], client: HTTPClient = .shared) {
        self.endpoint = endpoint
        self.externalLabels = externalLabels
        self.client = client
    }

    /// The request for `metrics`, with `help` texts by metric name and `externalLabels` added to each series that
    /// has no label of their name (as Prometheus applies `global.external_labels`).
    package static func request(
        for metrics: [Metric], help: [String: String] = [:], externalLabels: [Label] = []
    ) -> Prometheus_WriteRequest {
        struct SeriesKey: Hashable {
            let name: String
            let labels: [Label]
        }
        var order: [SeriesKey] = []
        var samples: [SeriesKey: [Prometheus_Sample]] = [:]
        var families: [String: MetricType] = [:]
        var help = help
        for metric in metrics {
            families[metric.name] = metric.value.type
            if help[metric.name] == nil, let text = metric.help, !text.isEmpty { help[metric.name] = text }
            let timestamp = metric.timestamp.unixMilliseconds
            var labels = metric.labels
            for label in externalLabels where !labels.contains(where: { $0.name == label.name }) { labels.append(label) }
            for exposed in metric.value.exposed(name: metric.name, labels: labels.sorted()) {
                let key = SeriesKey(name: exposed.name, labels: exposed.labels)
                var sample = Prometheus_Sample()
                sample.value = exposed.value
                sample.timestamp = timestamp
                if samples[key] == nil { order.append(key) }
                samples[key, default: []].append(sample)
            }
        }
        var request = Prometheus_WriteRequest()
        request.timeseries = order.map { key in
            var series = Prometheus_TimeSeries()
            var name = Prometheus_Label()
            name.name = "__name__"
            name.value = key.name
            series.labels = [name] + key.labels.map { label in
                var wire = Prometheus_Label()
                wire.name = label.name
                wire.value = label.value
                return wire
            }
            series.labels.sort { $0.name < $1.name }
            series.samples = samples[key]!.sorted { $0.timestamp < $1.timestamp }
            return series
        }
        request.metadata = families.keys.sorted().map { family in
            var metadata = Prometheus_MetricMetadata()
            metadata.metricFamilyName = family
            metadata.help = help[family] ?? ""
            switch families[family]! {
            case .counter: metadata.type = .counter
            case .gauge: metadata.type = .gauge
            case .histogram: metadata.type = .histogram
            case .summary: metadata.type = .summary
            }
            return metadata
        }
        return request
    }

    /// Sends `metrics` in one request.
    ///
    /// - Returns: `.accepted`, or `.rejected` when the receiver refused the request itself (a 4xx other than 401,
    ///   403, 404 and 429; do not retry).
    /// - Throws: `networkError` for what is worth retrying: no connection, a timeout, a 5xx, a 429, or a 401, 403
    ///   or 404 (a misconfigured endpoint, which would otherwise drop every sample).
    public func send(_ metrics: [Metric], help: [String: String] = [:], timeout: Duration) async throws(MonitoringError) -> Outcome {
        let body: [UInt8]
        do {
            body = Snappy.compress(try Self.request(for: metrics, help: help, externalLabels: externalLabels).serializedBytes())
        } catch {
            throw MonitoringError(.exportFailed, "cannot encode a remote-write request: \(error)")
        }
        var request = HTTPClientRequest(url: endpoint)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-protobuf")
        request.headers.add(name: "Content-Encoding", value: "snappy")
        request.headers.add(name: "X-Prometheus-Remote-Write-Version", value: "0.1.0")
        request.headers.add(name: "User-Agent", value: "stepflow-monitor")
        request.body = .bytes(ByteBuffer(bytes: body))
        let milliseconds = max(timeout.clampedMilliseconds, 1)
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .milliseconds(milliseconds))
        } catch {
            throw MonitoringError(
                .networkError, "cannot POST to \(endpoint): \(error)",
                hint: "check that the receiver runs and accepts remote write (Prometheus: --web.enable-remote-write-receiver)")
        }
        let answer = (try? await response.body.collect(upTo: 1 << 16)).map { String(buffer: $0) } ?? ""
        let status = Int(response.status.code)
        switch status {
        case 200..<300:
            return .accepted
        case 401, 403, 404:
            // The receiver is not reached as configured (credentials, path): retry rather than drop the samples.
            throw MonitoringError(
                .networkError, "\(endpoint) answered \(status): \(answer.prefix(300))",
                hint: "check exporters.prometheus.endpoint, and that the receiver accepts remote write without credentials")
        case 429, 500...:
            throw MonitoringError(.networkError, "\(endpoint) answered \(status): \(answer.prefix(300))")
        default:
            return .rejected(status: status, message: String(answer.prefix(300)))
        }
    }
}

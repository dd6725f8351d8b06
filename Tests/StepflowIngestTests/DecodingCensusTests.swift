import Foundation
@testable import StepflowIngest
import StepflowTestSupport
import StepflowWireFormats
import SwiftProtobuf
import Testing

/// The census a receiver takes of a body before decoding it (docs/ingest.md, "Limits"): what it counts, and that
/// it counts what swift-protobuf then decodes.
@Suite("The decoding census")
struct DecodingCensusTests {
    typealias TraceRequest = Opentelemetry_Proto_Collector_Trace_V1_ExportTraceServiceRequest
    typealias MetricsRequest = Opentelemetry_Proto_Collector_Metrics_V1_ExportMetricsServiceRequest

    static func attribute(_ key: String, _ value: String) -> Opentelemetry_Proto_Common_V1_KeyValue {
        var pair = Opentelemetry_Proto_Common_V1_KeyValue()
        pair.key = key
        pair.value.stringValue = value
        return pair
    }

    static func protobufCensus(_ message: some SwiftProtobuf.Message, _ schema: OTLPSchema) throws -> DecodingCensus {
        let bytes: [UInt8] = try message.serializedBytes()
        return bytes.withUnsafeBufferPointer { ProtobufWire($0).census(schema, in: 0..<$0.count) }
    }

    static func jsonCensus(_ text: String) -> DecodingCensus {
        Array(text.utf8).withUnsafeBufferPointer { JSONCensus.census($0) }
    }

    @Test("a trace request: every message counted, spans as items, in protobuf and in JSON")
    func traces() throws {
        var span = Opentelemetry_Proto_Trace_V1_Span()
        span.name = "GET"
        span.attributes = [Self.attribute("a", "1"), Self.attribute("b", "2")]
        var event = Opentelemetry_Proto_Trace_V1_Span.Event()
        event.attributes = [Self.attribute("c", "3")]
        span.events = [event]
        span.status.code = .error
        var scope = Opentelemetry_Proto_Trace_V1_ScopeSpans()
        scope.scope.name = "lib"
        scope.spans = [span, span, span]
        var resource = Opentelemetry_Proto_Trace_V1_ResourceSpans()
        resource.resource.attributes = [Self.attribute("service.name", "shop")]
        resource.scopeSpans = [scope]
        var request = TraceRequest()
        request.resourceSpans = [resource]

        let census = try Self.protobufCensus(request, .traceRequest)
        // resourceSpans, resource, its KeyValue + AnyValue, scopeSpans, scope; per span: the span, 2 × (KeyValue +
        // AnyValue), the event, its KeyValue + AnyValue, the status.
        #expect(census == DecodingCensus(messages: 6 + 3 * 9, values: 0, items: 3, complete: true))
        let json = Self.jsonCensus(try request.jsonString())
        // JSON objects: the request itself, and each message above.
        #expect(json.messages == census.messages + 1)
        #expect(json.complete)
    }

    @Test("packed varints and JSON array elements count as values; strings hide no structure")
    func values() throws {
        var point = Opentelemetry_Proto_Metrics_V1_ExponentialHistogramDataPoint()
        point.positive.bucketCounts = [1, 300, 70_000, 0]
        var metric = Opentelemetry_Proto_Metrics_V1_Metric()
        metric.name = "m"
        metric.exponentialHistogram.dataPoints = [point, point]
        var scope = Opentelemetry_Proto_Metrics_V1_ScopeMetrics()
        scope.metrics = [metric]
        var resource = Opentelemetry_Proto_Metrics_V1_ResourceMetrics()
        resource.scopeMetrics = [scope]
        var request = MetricsRequest()
        request.resourceMetrics = [resource]
        let census = try Self.protobufCensus(request, .metricsRequest)
        #expect(census.values == 8)
        #expect(census.items == 2)

        #expect(Self.jsonCensus(#"{"a":[1,2,[3,4],{"b":"[{,}]\"{"}],"c":[]}"#) == DecodingCensus(messages: 2, values: 6, items: 0, complete: true))
        #expect(!Self.jsonCensus(#"{"a":[1,2"#).complete)
        #expect(!Self.jsonCensus(String(repeating: "[", count: 200)).complete)
        #expect(!Self.jsonCensus("}{").complete)
    }

    @Test("the counted items equal the decoded items for mutated requests that still decode")
    func itemsMatchDecoder() throws {
        var random = FuzzRandom(seed: 0x5EED_C0DE)
        var span = Opentelemetry_Proto_Trace_V1_Span()
        span.name = "s"
        span.attributes = [Self.attribute("k", "v")]
        var scope = Opentelemetry_Proto_Trace_V1_ScopeSpans()
        scope.spans = Array(repeating: span, count: 5)
        var resource = Opentelemetry_Proto_Trace_V1_ResourceSpans()
        resource.scopeSpans = [scope, scope]
        var request = TraceRequest()
        request.resourceSpans = [resource, resource]
        let valid: [UInt8] = try request.serializedBytes()
        var decoded = 0
        for _ in 0..<5_000 {
            var bytes = valid
            for _ in 0..<Int.random(in: 0..<3, using: &random) + 1 {
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8(truncatingIfNeeded: Int.random(in: 0..<256, using: &random))
            }
            let census = bytes.withUnsafeBufferPointer { ProtobufWire($0).census(OTLPSchema.traceRequest, in: 0..<$0.count) }
            var options = BinaryDecodingOptions()
            options.discardUnknownFields = true
            guard let message = try? TraceRequest(serializedBytes: bytes, options: options) else { continue }
            decoded += 1
            #expect(census.complete)
            #expect(census.items == message.resourceSpans.reduce(0) { $0 + $1.scopeSpans.reduce(0) { $0 + $1.spans.count } })
        }
        #expect(decoded > 200)
    }

    @Test("the budget refuses bodies that decode to far more than their size, and takes ordinary ones")
    func budget() {
        let budget = DecodingBudget(maxDecompressedBytes: 1 << 20)
        #expect(budget.bytes == 4 << 20)
        // 1 MiB of "{}," is 350,000 messages: about 85 MiB decoded.
        let flood = "[" + Array(repeating: "{}", count: 349_000).joined(separator: ",") + "]"
        let census = Self.jsonCensus(flood)
        #expect(census.messages == 349_000)
        #expect(budget.refusal(census, body: flood.utf8.count)?.contains("send smaller batches") == true)
        let ordinary = DecodingCensus(messages: 4_000, values: 1_000, items: 100, complete: true)
        #expect(budget.refusal(ordinary, body: 1 << 20) == nil)
        #expect(DecodingCensus(messages: .max / 2, values: 0, items: 0).estimatedBytes(body: 0) == .max)
    }
}

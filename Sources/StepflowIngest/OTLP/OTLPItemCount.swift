/// How many spans, log records or data points an OTLP protobuf request holds, counted on the wire before it is
/// decoded: the generated decoder makes a struct of ~150 bytes for an item that takes 2 bytes on the wire, so a
/// request of too many items is refused (413) before that, not after.
enum OTLPItemCount {
    /// The fields to descend through, outermost first; the last set's fields are the items counted.
    static func path(of signal: OTLPReceiver.Signal) -> [Set<UInt64>] {
        switch signal {
        // ExportTraceServiceRequest.resource_spans → ResourceSpans.scope_spans → ScopeSpans.spans
        case .traces: return [[1], [2], [2]]
        // ExportLogsServiceRequest.resource_logs → ResourceLogs.scope_logs → ScopeLogs.log_records
        case .logs: return [[1], [2], [2]]
        // → ResourceMetrics.scope_metrics → ScopeMetrics.metrics → Metric.gauge/sum/histogram/
        //   exponential_histogram/summary → data_points
        case .metrics: return [[1], [2], [2], [5, 7, 9, 10, 11], [1]]
        }
    }

    /// The items of `bytes`, or `nil` when the bytes are not well-formed enough to count (the decoder says why).
    static func count(_ bytes: UnsafeBufferPointer<UInt8>, signal: OTLPReceiver.Signal) -> Int? {
        count(ProtobufWire(bytes), in: 0..<bytes.count, path: path(of: signal)[...])
    }

    private static func count(_ wire: ProtobufWire, in range: Range<Int>, path: ArraySlice<Set<UInt64>>) -> Int? {
        guard let fields = path.first else { return 0 }
        var total = 0
        var index = range.lowerBound
        while index < range.upperBound {
            guard let (field, type) = wire.tag(&index, end: range.upperBound) else { return nil }
            guard fields.contains(field) else {
                guard wire.skip(type, &index, end: range.upperBound) else { return nil }
                continue
            }
            guard type == 2, let payload = wire.payload(&index, end: range.upperBound) else { return nil }
            if path.count == 1 {
                total += 1
            } else {
                guard let inner = count(wire, in: payload, path: path.dropFirst()) else { return nil }
                total += inner
            }
        }
        return total
    }
}

import CStepflowPlugin

/// Lays out an array of ``PluginMetric`` as flat C structs in a single allocation (samples, labels, buckets,
/// quantiles, then all string bytes), so every borrowed pointer lives until the body (the `emit_metrics` call)
/// returns.
enum MetricArena {
    static func withCMetrics<R>(_ metrics: [PluginMetric], _ body: (UnsafePointer<stepflow_metric>?, Int) -> R) -> R {
        guard !metrics.isEmpty else { return body(nil, 0) }

        var labelCount = 0
        var bucketCount = 0
        var quantileCount = 0
        var byteCount = 0
        for metric in metrics {
            byteCount += metric.name.utf8.count + metric.help.utf8.count
            labelCount += metric.labels.count
            for label in metric.labels { byteCount += label.name.utf8.count + label.value.utf8.count }
            switch metric.value {
            case .histogram(_, _, let buckets): bucketCount += buckets.count
            case .summary(_, _, let quantiles): quantileCount += quantiles.count
            case .counter, .gauge: break
            }
        }

        func align(_ offset: Int, _ alignment: Int) -> Int { (offset + alignment - 1) / alignment * alignment }
        let labelsOffset = align(metrics.count * MemoryLayout<stepflow_metric>.stride, MemoryLayout<stepflow_label>.alignment)
        let bucketsOffset = align(labelsOffset + labelCount * MemoryLayout<stepflow_label>.stride, MemoryLayout<stepflow_bucket>.alignment)
        let quantilesOffset = align(bucketsOffset + bucketCount * MemoryLayout<stepflow_bucket>.stride, MemoryLayout<stepflow_quantile>.alignment)
        let bytesOffset = quantilesOffset + quantileCount * MemoryLayout<stepflow_quantile>.stride
        let alignment = max(
            MemoryLayout<stepflow_metric>.alignment, MemoryLayout<stepflow_label>.alignment,
            MemoryLayout<stepflow_bucket>.alignment, MemoryLayout<stepflow_quantile>.alignment)

        let arena = UnsafeMutableRawPointer.allocate(byteCount: bytesOffset + byteCount, alignment: alignment)
        defer { arena.deallocate() }

        let samples = arena.bindMemory(to: stepflow_metric.self, capacity: metrics.count)
        let labels = (arena + labelsOffset).bindMemory(to: stepflow_label.self, capacity: labelCount)
        let buckets = (arena + bucketsOffset).bindMemory(to: stepflow_bucket.self, capacity: bucketCount)
        let quantiles = (arena + quantilesOffset).bindMemory(to: stepflow_quantile.self, capacity: quantileCount)
        var byteCursor = arena + bytesOffset
        var labelCursor = 0
        var bucketCursor = 0
        var quantileCursor = 0

        func place(_ text: String) -> stepflow_str {
            var text = text
            return text.withUTF8 { utf8 in
                guard let source = utf8.baseAddress, utf8.count > 0 else { return stepflow_str(ptr: nil, len: 0) }
                let start = byteCursor
                start.copyMemory(from: source, byteCount: utf8.count)
                byteCursor += utf8.count
                return stepflow_str(ptr: start.assumingMemoryBound(to: CChar.self), len: utf8.count)
            }
        }

        for (index, metric) in metrics.enumerated() {
            var sample = stepflow_metric()
            sample.name = place(metric.name)
            sample.help = place(metric.help)
            sample.timestamp_ms = metric.timestampMilliseconds
            if !metric.labels.isEmpty {
                let first = labelCursor
                for label in metric.labels {
                    (labels + labelCursor).initialize(to: stepflow_label(name: place(label.name), value: place(label.value)))
                    labelCursor += 1
                }
                sample.labels = UnsafePointer(labels + first)
                sample.label_count = metric.labels.count
            }
            switch metric.value {
            case .counter(let value):
                sample.type = Int32(STEPFLOW_METRIC_COUNTER.rawValue)
                sample.value = value
            case .gauge(let value):
                sample.type = Int32(STEPFLOW_METRIC_GAUGE.rawValue)
                sample.value = value
            case .histogram(let sum, let count, let values):
                sample.type = Int32(STEPFLOW_METRIC_HISTOGRAM.rawValue)
                sample.sum = sum
                sample.count = count
                if !values.isEmpty {
                    let first = bucketCursor
                    for bucket in values {
                        (buckets + bucketCursor).initialize(to: stepflow_bucket(upper_bound: bucket.upperBound, count: bucket.count))
                        bucketCursor += 1
                    }
                    sample.buckets = UnsafePointer(buckets + first)
                    sample.bucket_count = values.count
                }
            case .summary(let sum, let count, let values):
                sample.type = Int32(STEPFLOW_METRIC_SUMMARY.rawValue)
                sample.sum = sum
                sample.count = count
                if !values.isEmpty {
                    let first = quantileCursor
                    for quantile in values {
                        (quantiles + quantileCursor).initialize(
                            to: stepflow_quantile(quantile: quantile.quantile, value: quantile.value))
                        quantileCursor += 1
                    }
                    sample.quantiles = UnsafePointer(quantiles + first)
                    sample.quantile_count = values.count
                }
            }
            (samples + index).initialize(to: sample)
        }
        return body(UnsafePointer(samples), metrics.count)
    }
}

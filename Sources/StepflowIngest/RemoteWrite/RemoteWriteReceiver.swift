import Logging
import StepflowCore
import StepflowMetrics
import StepflowStorage
import StepflowWireFormats
import SwiftProtobuf

/// The receiving end of Prometheus remote write 1.0 (`POST /api/v1/write`): a Snappy block holding a protobuf
/// `WriteRequest`, decoded into one of the metrics engine's batches and recorded as the ingest API records JSON
/// (docs/ingest.md, "Prometheus remote write").
///
/// Answers as Prometheus' own receiver does: 204 when the request was taken (its valid samples are queued or
/// stored as `http.acknowledge` says; samples the engine refuses are counted and logged, not retried), 400 when
/// it cannot be decoded or every sample in it was refused (nothing of it is stored; a sender does not retry a
/// 400), 413 and 415 for bodies it will not read, 503 with `Retry-After` when nothing could be queued (the sender
/// retries).
public final class RemoteWriteReceiver: Sendable {
    /// The route, also the `path` label of the ingest counters.
    public static let path = "/api/v1/write"
    /// The bit pattern Prometheus marks a series gone with (a NaN no arithmetic produces).
    static let staleMarkerBits: UInt64 = 0x7FF0_0000_0000_0002

    private let engine: MetricsEngine
    private let policy: IngestPolicy
    private let maxDecompressedBytes: Int
    /// The most a request may decode to (the swift-protobuf path), and over 256 bytes a series, the most time
    /// series the direct reader lays out.
    private let budget: DecodingBudget
    private let maxSeries: Int
    /// The most samples one request may hold: the metrics write queue's capacity.
    private let maxSamples: Int
    private let statistics: IngestStatistics
    private let families = RemoteWriteFamilies()
    private let logger: Logger

    /// - Parameters:
    ///   - policy: when a request is answered (`http.acknowledge`, `http.commit_timeout`) and how long it waits for
    ///     room in a full queue (`metrics.backpressure_timeout`).
    ///   - maxDecompressedBytes: the most bytes a body may expand to (docs/ingest.md, "Limits").
    ///   - maxSamples: the most samples one request may hold (`metrics.max_queue_size`); a larger one is a 413.
    public init(
        engine: MetricsEngine, policy: IngestPolicy, maxDecompressedBytes: Int, maxSamples: Int,
        statistics: IngestStatistics, logger: Logger
    ) {
        self.engine = engine
        self.policy = policy
        self.maxDecompressedBytes = max(maxDecompressedBytes, 1)
        budget = DecodingBudget(maxDecompressedBytes: self.maxDecompressedBytes)
        maxSeries = budget.bytes / DecodingCensus.bytesPerMessage
        self.maxSamples = maxSamples
        self.statistics = statistics
        self.logger = logger
    }

    /// What to answer a request with (an `Error` only so that a decoding step can return it as its failure).
    public struct Answer: Error, Sendable, Equatable {
        /// 204, 400, 413, 415 or 503.
        public var status: Int
        /// Why, for anything but 204 (plain text, as Prometheus answers).
        public var message: String
        /// Seconds, with 503.
        public var retryAfter: Int?

        public init(status: Int, message: String, retryAfter: Int? = nil) {
            self.status = status
            self.message = message
            self.retryAfter = retryAfter
        }
    }

    /// Decodes and records one request body.
    ///
    /// - Parameters:
    ///   - contentType: the request's `Content-Type`; remote write 2.0's (`proto=io.prometheus.write.v2.Request`) is
    ///     answered 415, which tells a 2.0 sender to fall back to 1.0.
    ///   - contentEncoding: the request's `Content-Encoding`: `snappy` or none (read as Snappy all the same, as
    ///     Prometheus does); anything else is 415.
    public func receive(_ body: [UInt8], contentType: String?, contentEncoding: String?) async -> Answer {
        if let refusal = Self.checkHeaders(contentType: contentType, contentEncoding: contentEncoding) {
            return refusal
        }
        let bytes: [UInt8]
        switch Self.decompress(body, limit: maxDecompressedBytes) {
        case .success(let decompressed): bytes = decompressed
        case .failure(let answer): return answer
        }
        // The direct reader first; swift-protobuf for whatever it does not take (and to name what is wrong).
        let fast: Result<Converted, Answer>? = bytes.withUnsafeBufferPointer { buffer in
            let reader = RemoteWriteReader(buffer)
            guard let layout = reader.layout(maxSeries: maxSeries) else { return nil }
            if layout.tooManySeries {
                return .failure(Answer(
                    status: 413,
                    message: "the request holds more than \(maxSeries) time series (the decoding budget, \(budget.bytes / 1_048_576) MiB, "
                        + "over \(DecodingCensus.bytesPerMessage) bytes each); lower max_samples_per_send in the sender's queue_config"))
            }
            if layout.tooMuchMetadata {
                return .failure(Answer(
                    status: 413, message: "the request carries more than \(RemoteWriteReader.maxMetadata) metadata entries"))
            }
            remember(layout.metadata)
            if let refusal = checkSize(layout.samples) { return .failure(refusal) }
            return convert(layout, reader: reader).map { .success($0) }
        }
        let converted: Converted
        switch fast {
        case .success(let read)?:
            converted = read
        case .failure(let refusal)?:
            return refusal
        case nil:
            // Counted on the wire first: the generated decoder makes a struct of every label and sample.
            let census = bytes.withUnsafeBufferPointer { ProtobufWire($0).census(RemoteWriteSchema.request, in: 0..<$0.count) }
            if let refusal = budget.refusal(census, body: bytes.count) {
                return Answer(status: 413, message: refusal)
            }
            if let refusal = checkSize(census.items) { return refusal }
            let request: Prometheus_WriteRequest
            switch Self.decode(bytes) {
            case .success(let decoded): request = decoded
            case .failure(let answer): return answer
            }
            if request.metadata.count > RemoteWriteReader.maxMetadata {
                return Answer(
                    status: 413, message: "the request carries more than \(RemoteWriteReader.maxMetadata) metadata entries")
            }
            remember(request.metadata)
            if let refusal = checkSize(request.timeseries.reduce(0) { $0 &+ $1.samples.count }) { return refusal }
            converted = convert(request)
        }
        count(converted)
        guard !converted.batch.isEmpty else {
            return Answer(status: 204, message: "")
        }
        let (report, outcome) = await engine.ingest(converted.batch, policy: policy, from: .http)
        switch outcome {
        case .unavailable(let reason):
            statistics.countItems(path: Self.path, .notQueued, converted.batch.count)
            return Answer(status: 503, message: reason + "; send the request again", retryAfter: 5)
        case .tooLarge(let reason):
            statistics.countItems(path: Self.path, .notQueued, converted.batch.count)
            return Answer(status: 413, message: reason + " (lower max_samples_per_send in the sender's queue_config)")
        case .stored, .queued, .pending, .nothing:
            statistics.countItems(path: Self.path, .accepted, report.accepted)
            statistics.countItems(path: Self.path, .refused, report.refused.count)
        }
        if report.accepted == 0, let first = report.refused.first {
            let more = report.refused.count > 1 ? " (and \(report.refused.count - 1) more)" : ""
            return Answer(status: 400, message: "every sample was refused: \(first.message)\(more)")
        }
        return Answer(status: 204, message: "")
    }

    /// 415 for a body this receiver does not read.
    static func checkHeaders(contentType: String?, contentEncoding: String?) -> Answer? {
        if let contentType {
            let parts = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard parts.first == "application/x-protobuf" else {
                return Answer(
                    status: 415,
                    message: "remote write takes Content-Type: application/x-protobuf, not '\(contentType.prefix(128))'")
            }
            if let proto = parts.dropFirst().first(where: { $0.hasPrefix("proto=") }),
                proto != "proto=prometheus.writerequest"
            {
                return Answer(
                    status: 415,
                    message: "only remote write 1.0 (prometheus.WriteRequest) is received, not '\(proto.dropFirst(6).prefix(128))'; "
                        + "configure the sender for remote write 1.0")
            }
        }
        if let contentEncoding, contentEncoding.trimmingCharacters(in: .whitespaces).lowercased() != "snappy" {
            return Answer(
                status: 415,
                message: "remote write bodies are Snappy blocks (Content-Encoding: snappy), not '\(contentEncoding.prefix(64))'")
        }
        return nil
    }

    /// The bytes of the Snappy block `body`, or the 400 or 413 that says why there are none.
    static func decompress(_ body: [UInt8], limit: Int) -> Result<[UInt8], Answer> {
        do {
            return .success(try Snappy.decompress(body, limit: limit))
        } catch {
            if error.exceedsLimit {
                return .failure(Answer(status: 413, message: "\(error); send smaller requests"))
            }
            return .failure(Answer(status: 400, message: "the body is not a valid Snappy block: \(error)"))
        }
    }

    /// The request in `bytes` as swift-protobuf decodes it, or the 400 that says why there is none.
    static func decode(_ bytes: [UInt8]) -> Result<Prometheus_WriteRequest, Answer> {
        do {
            var options = BinaryDecodingOptions()
            options.discardUnknownFields = true
            return .success(try Prometheus_WriteRequest(serializedBytes: bytes, options: options))
        } catch {
            return .failure(Answer(status: 400, message: "the body is not a remote-write 1.0 WriteRequest: \(error)"))
        }
    }

    private func remember(_ metadata: [Prometheus_MetricMetadata]) {
        let skipped = families.remember(metadata)
        if skipped > 0 {
            logger.debug("remote write: metadata not kept", metadata: ["entries": "\(skipped)"])
        }
    }

    /// The 413 for a request of more samples than the write queue takes at once.
    private func checkSize(_ samples: Int) -> Answer? {
        guard samples > maxSamples else { return nil }
        return Answer(
            status: 413,
            message: "the request holds \(samples) samples, more than the metrics write queue takes at once "
                + "(metrics.max_queue_size, \(maxSamples)); lower max_samples_per_send in the sender's queue_config")
    }

    /// A request made into an engine batch, and what was left out of it.
    struct Converted {
        var batch = MetricBatch()
        var staleMarkers = 0
        var exemplars = 0
        var nativeHistograms = 0
        var unnamed = 0
        var tooManyLabels = 0
    }

    /// Makes a batch of every float sample with a metric name; stale markers, exemplars and native histograms
    /// are counted and left out. Labels with an empty value are left out (in Prometheus an empty label is an
    /// absent one).
    func convert(_ request: Prometheus_WriteRequest) -> Converted {
        var converted = Converted()
        let maxLabels = engine.options.limits.maxLabelsPerSeries
        var sampleCount = 0
        var labelCount = 0
        for series in request.timeseries {
            sampleCount += series.samples.count
            labelCount += series.samples.count * min(series.labels.count, maxLabels + 1)
        }
        converted.batch.reserveCapacity(samples: sampleCount, labels: labelCount)
        var strings: [String: UInt32] = [:]
        var types: [String: (type: MetricType, help: UInt32)] = [:]
        func intern(_ text: String, into batch: inout MetricBatch) -> UInt32 {
            if let index = strings[text] { return index }
            let index = batch.addString(text, hash: ContentHash.hash(text))
            strings[text] = index
            return index
        }
        for series in request.timeseries {
            converted.exemplars += series.exemplars.count
            converted.nativeHistograms += series.histograms.count
            guard !series.samples.isEmpty else { continue }
            guard let name = series.labels.first(where: { $0.name == "__name__" })?.value, !name.isEmpty else {
                converted.unnamed += series.samples.count
                continue
            }
            // A series' labels are copied once per sample: one with more labels than any series may have is
            // refused here, before that copy (the engine would refuse each sample anyway).
            guard series.labels.count <= maxLabels + 1 else {
                converted.tooManyLabels += series.samples.count
                continue
            }
            let nameIndex = intern(name, into: &converted.batch)
            let family: (type: MetricType, help: UInt32)
            if let known = types[name] {
                family = known
            } else {
                let decided = RemoteWriteTypes.type(of: name, families: families)
                let type = engine.familyType(named: name) ?? decided.type
                family = (type, decided.help.map { intern($0, into: &converted.batch) } ?? MetricBatch.noString)
                types[name] = family
            }
            for sample in series.samples {
                if sample.value.bitPattern == Self.staleMarkerBits {
                    converted.staleMarkers += 1
                    continue
                }
                let labelStart = converted.batch.marks.labels
                for label in series.labels where label.name != "__name__" && !label.value.isEmpty {
                    converted.batch.appendLabel(
                        name: intern(label.name, into: &converted.batch), value: intern(label.value, into: &converted.batch))
                }
                converted.batch.appendSample(
                    name: nameIndex, help: family.help, type: family.type, value: sample.value, count: 0,
                    timestamp: sample.timestamp, labelStart: labelStart, partStart: converted.batch.marks.parts)
            }
        }
        return converted
    }

    /// The strings of one request body by their bytes: a ``HashIndex`` from content hash to the first string
    /// with that hash, chained to the others (hashes may collide; bytes decide).
    private struct ByteInterning {
        var first = HashIndex(capacity: 256)
        var next: [Int32] = []
        var ranges: [Range<Int>] = []
        var indices: [UInt32] = []

        /// The batch index of the string whose bytes are `range`, adding it (`make` gives its text) when new;
        /// `nil` when it is new and not UTF-8.
        mutating func intern(
            _ range: Range<Int>, reader: RemoteWriteReader, into batch: inout MetricBatch
        ) -> UInt32? {
            let hash = reader.hash(range)
            var slot = first.value(for: hash) ?? -1
            while slot >= 0 {
                if reader.equal(ranges[Int(slot)], range) { return indices[Int(slot)] }
                slot = next[Int(slot)]
            }
            guard let text = reader.string(range) else { return nil }
            let index = batch.addString(text, hash: hash)
            next.append(first.value(for: hash) ?? -1)
            ranges.append(range)
            indices.append(index)
            first.set(Int32(truncatingIfNeeded: ranges.count - 1), for: hash)
            return index
        }
    }

    /// ``convert(_:)-(Prometheus_WriteRequest)`` over the direct reader's layout: the same batch, read from the
    /// bytes. `nil` when a series or string is not one the reader takes (the caller falls back).
    func convert(_ layout: RemoteWriteReader.Layout, reader: RemoteWriteReader) -> Converted? {
        var converted = Converted()
        let maxLabels = engine.options.limits.maxLabelsPerSeries
        converted.batch.reserveSamples(layout.samples)
        guard reader.base != nil else { return converted }
        // Strings by their bytes, each made once. (The generated path interns by text, where two byte sequences
        // Swift calls equal share an entry; the engine compares series by text, so both store the same series.)
        var strings = ByteInterning()
        var types: [UInt32: (type: MetricType, help: UInt32)] = [:]
        var labels: [RemoteWriteReader.LabelRanges] = []
        var samples: [(value: Double, timestamp: Int64)] = []
        var references: [(name: UInt32, value: UInt32)] = []
        func intern(_ range: Range<Int>, into batch: inout MetricBatch) -> UInt32? {
            strings.intern(range, reader: reader, into: &batch)
        }
        for range in layout.series {
            guard let parts = reader.series(in: range, labels: &labels, samples: &samples) else { return nil }
            converted.exemplars += parts.exemplars
            converted.nativeHistograms += parts.histograms
            guard !samples.isEmpty else { continue }
            guard let nameLabel = labels.first(where: { reader.equals($0.name, "__name__") }), !nameLabel.value.isEmpty else {
                converted.unnamed += samples.count
                continue
            }
            guard labels.count <= maxLabels + 1 else {
                converted.tooManyLabels += samples.count
                continue
            }
            guard let nameIndex = intern(nameLabel.value, into: &converted.batch) else { return nil }
            let family: (type: MetricType, help: UInt32)
            if let known = types[nameIndex] {
                family = known
            } else {
                let name = converted.batch.strings[Int(nameIndex)]
                let decided = RemoteWriteTypes.type(of: name, families: families)
                let type = engine.familyType(named: name) ?? decided.type
                let help = decided.help.map { converted.batch.addString($0, hash: ContentHash.hash($0)) } ?? MetricBatch.noString
                family = (type, help)
                types[nameIndex] = family
            }
            // Label strings are interned once per series, then referenced by every sample.
            references.removeAll(keepingCapacity: true)
            for label in labels where !reader.equals(label.name, "__name__") && !label.value.isEmpty {
                guard let name = intern(label.name, into: &converted.batch),
                    let value = intern(label.value, into: &converted.batch)
                else { return nil }
                references.append((name, value))
            }
            for sample in samples {
                if sample.value.bitPattern == Self.staleMarkerBits {
                    converted.staleMarkers += 1
                    continue
                }
                let labelStart = converted.batch.marks.labels
                for reference in references { converted.batch.appendLabel(name: reference.name, value: reference.value) }
                converted.batch.appendSample(
                    name: nameIndex, help: family.help, type: family.type, value: sample.value, count: 0,
                    timestamp: sample.timestamp, labelStart: labelStart, partStart: converted.batch.marks.parts)
            }
        }
        return converted
    }

    private func count(_ converted: Converted) {
        statistics.countItems(path: Self.path, .staleMarker, converted.staleMarkers)
        statistics.countItems(path: Self.path, .exemplarIgnored, converted.exemplars)
        statistics.countItems(path: Self.path, .nativeHistogramRefused, converted.nativeHistograms)
        statistics.countItems(path: Self.path, .unnamed, converted.unnamed)
        statistics.countItems(path: Self.path, .refused, converted.tooManyLabels)
        if converted.nativeHistograms > 0 {
            logger.debug(
                "remote write: native histogram samples are not stored",
                metadata: ["samples": "\(converted.nativeHistograms)"])
        }
    }
}

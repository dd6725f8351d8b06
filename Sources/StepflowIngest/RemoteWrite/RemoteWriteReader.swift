import StepflowCore
import StepflowWireFormats

/// Reads a remote-write `WriteRequest` straight from its protobuf bytes into the metrics engine's batch, without
/// the message structs, strings and arrays the generated decoder makes for every label of every series (which
/// cost a fifth of the host's CPU under remote-write load; docs/ingest.md, "Remote write: cost").
///
/// It reads the protobuf wire format as `remote_write.proto` lays it out and returns `nil` for anything else (a
/// field with an unexpected wire type, a group, a truncated length, a string that is not UTF-8); the receiver then
/// decodes the body with swift-protobuf, which names the error, and converts what that decoder gives. So a body is
/// answered the same whichever reader took it; a test compares the two on mutated bodies.
struct RemoteWriteReader {
    private let bytes: UnsafeBufferPointer<UInt8>

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// The first byte, for keys that point into the body; `nil` for an empty body.
    var base: UnsafePointer<UInt8>? { bytes.baseAddress }

    /// Where a request's parts are: the metadata entries (decoded; they are few), each time series' byte range,
    /// and the number of samples in all.
    struct Layout {
        var metadata: [Prometheus_MetricMetadata] = []
        var series: [Range<Int>] = []
        var samples = 0
        /// More than ``RemoteWriteReader/maxMetadata`` entries: the request is refused.
        var tooMuchMetadata = false
        /// More than `maxSeries` time series: the request is refused (the layout stops there).
        var tooManySeries = false
    }

    /// The most metadata entries a request may carry (Prometheus sends at most 500 per request by default).
    static let maxMetadata = 10_000

    /// The protobuf primitives over the same bytes.
    private var format: ProtobufWire { ProtobufWire(bytes) }

    /// The text of a string field, valid UTF-8 only.
    func string(_ range: Range<Int>) -> String? {
        String(validating: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    // MARK: Request

    /// The request's layout, or `nil` when the bytes are not one this reader takes; it stops at `maxSeries` time
    /// series, marked ``Layout/tooManySeries``.
    func layout(maxSeries: Int = .max) -> Layout? {
        var layout = Layout()
        var index = 0
        let end = bytes.count
        while index < end {
            guard let (field, wire) = format.tag(&index, end: end) else { return nil }
            switch (field, wire) {
            case (1, 2):
                guard let range = format.payload(&index, end: end), let samples = sampleCount(in: range) else { return nil }
                // Kept even without samples: its strings must be checked as swift-protobuf checks them.
                guard layout.series.count < maxSeries else {
                    layout.tooManySeries = true
                    return layout
                }
                layout.series.append(range)
                layout.samples &+= samples
            case (3, 2):
                guard let range = format.payload(&index, end: end), let entry = metadata(in: range) else { return nil }
                layout.metadata.append(entry)
                if layout.metadata.count > Self.maxMetadata { layout.tooMuchMetadata = true }
            case (1, _), (3, _):
                return nil
            default:
                guard format.skip(wire, &index, end: end) else { return nil }
            }
        }
        return layout
    }

    /// How many samples a time series holds (field 2), its other fields checked for their wire types.
    private func sampleCount(in range: Range<Int>) -> Int? {
        var count = 0
        var index = range.lowerBound
        while index < range.upperBound {
            guard let (field, wire) = format.tag(&index, end: range.upperBound) else { return nil }
            if (1...4).contains(field), wire != 2 { return nil }
            if field == 2 { count += 1 }
            guard format.skip(wire, &index, end: range.upperBound) else { return nil }
        }
        return count
    }

    private func metadata(in range: Range<Int>) -> Prometheus_MetricMetadata? {
        var entry = Prometheus_MetricMetadata()
        var index = range.lowerBound
        while index < range.upperBound {
            guard let (field, wire) = format.tag(&index, end: range.upperBound) else { return nil }
            switch (field, wire) {
            case (1, 0):
                guard let raw = format.varint(&index, end: range.upperBound) else { return nil }
                // An enum is an int32 on the wire: the low 32 bits, sign-extended.
                entry.type = Prometheus_MetricMetadata.MetricType(rawValue: Int(Int32(truncatingIfNeeded: raw))) ?? .unknown
            case (2, 2), (4, 2), (5, 2):
                guard let text = format.payload(&index, end: range.upperBound).flatMap(string) else { return nil }
                if field == 2 { entry.metricFamilyName = text } else if field == 4 { entry.help = text } else { entry.unit = text }
            case (1...5, _):
                return nil
            default:
                guard format.skip(wire, &index, end: range.upperBound) else { return nil }
            }
        }
        return entry
    }

    // MARK: Series

    /// One label: the byte ranges of its name and value.
    struct LabelRanges {
        var name: Range<Int> = 0..<0
        var value: Range<Int> = 0..<0
    }

    /// The labels, samples and ignored parts of the time series in `range`.
    func series(
        in range: Range<Int>, labels: inout [LabelRanges], samples: inout [(value: Double, timestamp: Int64)]
    ) -> (exemplars: Int, histograms: Int)? {
        labels.removeAll(keepingCapacity: true)
        samples.removeAll(keepingCapacity: true)
        var exemplars = 0
        var histograms = 0
        var index = range.lowerBound
        while index < range.upperBound {
            guard let (field, wire) = format.tag(&index, end: range.upperBound) else { return nil }
            switch field {
            case 1:
                guard let payload = format.payload(&index, end: range.upperBound), let label = label(in: payload) else { return nil }
                labels.append(label)
            case 2:
                guard let payload = format.payload(&index, end: range.upperBound), let sample = sample(in: payload) else { return nil }
                samples.append(sample)
            case 3:
                guard format.payload(&index, end: range.upperBound) != nil else { return nil }
                exemplars += 1
            case 4:
                guard format.payload(&index, end: range.upperBound) != nil else { return nil }
                histograms += 1
            default:
                guard format.skip(wire, &index, end: range.upperBound) else { return nil }
            }
        }
        return (exemplars, histograms)
    }

    private func label(in range: Range<Int>) -> LabelRanges? {
        var label = LabelRanges(name: range.lowerBound..<range.lowerBound, value: range.lowerBound..<range.lowerBound)
        var index = range.lowerBound
        while index < range.upperBound {
            guard let (field, wire) = format.tag(&index, end: range.upperBound) else { return nil }
            switch (field, wire) {
            case (1, 2), (2, 2):
                // Every string must be UTF-8, also one a later occurrence replaces or one of a series that is
                // left out: swift-protobuf refuses the whole request otherwise.
                guard let text = format.payload(&index, end: range.upperBound), isValidUTF8(text) else { return nil }
                // proto3: the last occurrence of a singular field wins.
                if field == 1 { label.name = text } else { label.value = text }
            case (1, _), (2, _):
                return nil
            default:
                guard format.skip(wire, &index, end: range.upperBound) else { return nil }
            }
        }
        return label
    }

    private func sample(in range: Range<Int>) -> (value: Double, timestamp: Int64)? {
        var value = 0.0
        var timestamp: Int64 = 0
        var index = range.lowerBound
        while index < range.upperBound {
            guard let (field, wire) = format.tag(&index, end: range.upperBound) else { return nil }
            switch (field, wire) {
            case (1, 1):
                guard range.upperBound - index >= 8 else { return nil }
                var bits: UInt64 = 0
                for offset in 0..<8 { bits |= UInt64(bytes[index + offset]) << (8 * UInt64(offset)) }
                value = Double(bitPattern: bits)
                index += 8
            case (2, 0):
                guard let raw = format.varint(&index, end: range.upperBound) else { return nil }
                timestamp = Int64(bitPattern: raw)
            case (1, _), (2, _):
                return nil
            default:
                guard format.skip(wire, &index, end: range.upperBound) else { return nil }
            }
        }
        return (value, timestamp)
    }

    /// Whether the bytes of `a` and `b` are the same.
    func equal(_ a: Range<Int>, _ b: Range<Int>) -> Bool {
        guard a.count == b.count else { return false }
        var offset = 0
        while offset < a.count {
            if bytes[a.lowerBound + offset] != bytes[b.lowerBound + offset] { return false }
            offset += 1
        }
        return true
    }

    /// Whether the bytes in `range` are exactly `text` (ASCII).
    func equals(_ range: Range<Int>, _ text: StaticString) -> Bool {
        guard range.count == text.utf8CodeUnitCount else { return false }
        let literal = UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
        return bytes[range].elementsEqual(literal)
    }

    /// The content hash of the bytes in `range` (the one ``MetricBatch`` keeps per string).
    func hash(_ range: Range<Int>) -> UInt64 {
        guard let base = bytes.baseAddress else { return ContentHash.hash("") }
        return ContentHash.hash(UnsafeRawPointer(base + range.lowerBound), count: range.count)
    }

    /// Whether the bytes in `range` are UTF-8: ASCII at a glance, anything else by decoding it.
    func isValidUTF8(_ range: Range<Int>) -> Bool {
        if bytes[range].allSatisfy({ $0 < 0x80 }) { return true }
        return string(range) != nil
    }
}

import Foundation

/// A batch of metric samples in flat storage: one string table, one fixed-size record per sample, and the labels,
/// buckets and quantiles of all samples in one array each.
///
/// This is how samples travel from a plugin (or a `record_metrics` call) to the metrics engine: building a batch
/// from a plugin's C structs costs no allocation per sample, and a string the plugin repeats (a metric name, a
/// label name, a label value) is stored once per batch. Each string carries its ``ContentHash``, from which the
/// engine computes a sample's series fingerprint without hashing the text again.
///
/// As a collection a batch presents its samples as ``Metric`` values, made on access; code that only needs names,
/// counts or a few samples can use it like `[Metric]`.
public struct MetricBatch: Sendable, RandomAccessCollection {
    /// The fixed-size part of one sample.
    @usableFromInline package struct Sample: Sendable {
        @inlinable
        package init(
            name: UInt32, help: UInt32, type: MetricType, labelStart: UInt32, labelCount: UInt32, partStart: UInt32,
            partCount: UInt32, value: Double, count: UInt64, timestamp: Int64
        ) {
            self.name = name
            self.help = help
            self.type = type
            self.labelStart = labelStart
            self.labelCount = labelCount
            self.partStart = partStart
            self.partCount = partCount
            self.value = value
            self.count = count
            self.timestamp = timestamp
        }

        /// Index of the metric name in ``strings``.
        @usableFromInline package var name: UInt32
        /// Index of the HELP text in ``strings``, or ``MetricBatch/noString``.
        @usableFromInline package var help: UInt32
        @usableFromInline package var type: MetricType
        /// The first of the sample's labels in ``labels``, and how many there are.
        @usableFromInline package var labelStart: UInt32
        @usableFromInline package var labelCount: UInt32
        /// The first of the sample's buckets or quantiles in ``parts``, and how many there are.
        @usableFromInline package var partStart: UInt32
        @usableFromInline package var partCount: UInt32
        /// A counter's or gauge's value; a histogram's or summary's sum.
        @usableFromInline package var value: Double
        /// A histogram's or summary's count of observations.
        @usableFromInline package var count: UInt64
        /// Unix milliseconds.
        @usableFromInline package var timestamp: Int64
    }

    /// One label: indices of its name and value in ``strings``.
    @usableFromInline package struct LabelReference: Sendable, Equatable {
        @usableFromInline package var name: UInt32
        @usableFromInline package var value: UInt32

        @inlinable
        package init(name: UInt32, value: UInt32) {
            self.name = name
            self.value = value
        }
    }

    /// One histogram bucket (`key` = upper bound, `bits` = cumulative count) or summary quantile (`key` = φ,
    /// `bits` = the value's bit pattern).
    @usableFromInline package struct Part: Sendable {
        @usableFromInline package var key: Double
        @usableFromInline package var bits: UInt64

        @inlinable
        package init(key: Double, bits: UInt64) {
            self.key = key
            self.bits = bits
        }
    }

    /// The string index meaning "none" (a sample without HELP text).
    @usableFromInline package static let noString = UInt32.max

    @usableFromInline package private(set) var strings: [String] = []
    /// ``ContentHash`` of each of ``strings``.
    @usableFromInline package private(set) var hashes: [UInt64] = []
    @usableFromInline package private(set) var samples: [Sample] = []
    @usableFromInline package private(set) var labels: [LabelReference] = []
    @usableFromInline package private(set) var parts: [Part] = []
    /// Metadata beyond the HELP text, by sample index (only samples appended as ``Metric`` carry any).
    package private(set) var metadata: [Int: [String: JSONValue]] = [:]
    /// Where each string appended through ``append(_:)`` is, so that it is stored once.
    private var lookup: [String: UInt32] = [:]
    /// The index of the empty string, once added.
    private var emptyString = MetricBatch.noString

    /// An empty batch.
    public init() {}

    /// The bytes the batch holds: its strings' UTF-8 and its fixed-size records (what a plugin handed over).
    public var byteCount: Int {
        var total = samples.count * MemoryLayout<Sample>.stride + labels.count * MemoryLayout<LabelReference>.stride
            + parts.count * MemoryLayout<Part>.stride
        for string in strings { total += string.utf8.count }
        return total
    }

    /// A batch holding `metrics`, in order.
    public init(_ metrics: some Sequence<Metric>) {
        for metric in metrics { append(metric) }
    }

    /// Appends one sample.
    public mutating func append(_ metric: Metric) {
        let name = intern(metric.name)
        var help = Self.noString
        var extra = metric.metadata
        if case .string(let text)? = extra.removeValue(forKey: "help") { help = intern(text) }
        let labelStart = labels.count
        for label in metric.labels {
            labels.append(LabelReference(name: intern(label.name), value: intern(label.value)))
        }
        let partStart = parts.count
        var value = 0.0
        var count: UInt64 = 0
        switch metric.value {
        case .counter(let number), .gauge(let number):
            value = number
        case .histogram(let histogram):
            value = histogram.sum
            count = histogram.count
            for bucket in histogram.buckets { parts.append(Part(key: bucket.upperBound, bits: bucket.count)) }
        case .summary(let summary):
            value = summary.sum
            count = summary.count
            for quantile in summary.quantiles {
                parts.append(Part(key: quantile.quantile, bits: quantile.value.bitPattern))
            }
        }
        if !extra.isEmpty { metadata[samples.count] = metric.metadata }
        appendSample(
            name: name, help: help, type: metric.value.type, value: value, count: count,
            timestamp: ValidTime.milliseconds(of: metric.timestamp) ?? ValidTime.outOfRangeMarker, labelStart: labelStart,
            partStart: partStart)
    }

    /// Appends every sample of `other`.
    public mutating func append(contentsOf other: MetricBatch) {
        if isEmpty, lookup.isEmpty {
            self = other
            return
        }
        for metric in other { append(metric) }
    }

    // MARK: Collection

    @inlinable public var startIndex: Int { 0 }
    @inlinable public var endIndex: Int { samples.count }

    /// The sample at `position`, made into a ``Metric``.
    public subscript(position: Int) -> Metric {
        let sample = samples[position]
        var metadata = self.metadata[position] ?? [:]
        if sample.help != Self.noString { metadata["help"] = .string(strings[Int(sample.help)]) }
        return Metric(
            name: strings[Int(sample.name)], value: value(at: position), labels: labels(at: position),
            timestamp: Date(unixMilliseconds: sample.timestamp), metadata: metadata)
    }

    /// Every sample as a ``Metric``.
    public var metrics: [Metric] { Array(self) }

    // MARK: Reading samples (the engine, the runner codec)

    /// The metric name of the sample at `position`.
    package func name(at position: Int) -> String { strings[Int(samples[position].name)] }

    /// The labels of the sample at `position`, in the order they were given.
    package func labels(at position: Int) -> [Label] {
        let sample = samples[position]
        let start = Int(sample.labelStart)
        return (start..<(start + Int(sample.labelCount))).map { index in
            Label(strings[Int(labels[index].name)], strings[Int(labels[index].value)])
        }
    }

    /// The HELP text of the sample at `position`, if it has one.
    package func help(at position: Int) -> String? {
        let help = samples[position].help
        return help == Self.noString ? nil : strings[Int(help)]
    }

    /// The value of the sample at `position`.
    package func value(at position: Int) -> MetricValue {
        let sample = samples[position]
        let parts = self.parts[Int(sample.partStart)..<Int(sample.partStart + sample.partCount)]
        switch sample.type {
        case .counter: return .counter(sample.value)
        case .gauge: return .gauge(sample.value)
        case .histogram:
            return .histogram(HistogramValue(
                sum: sample.value, count: sample.count,
                buckets: parts.map { HistogramBucket(upperBound: $0.key, count: $0.bits) }))
        case .summary:
            return .summary(SummaryValue(
                sum: sample.value, count: sample.count,
                quantiles: parts.map { Quantile(quantile: $0.key, value: Double(bitPattern: $0.bits)) }))
        }
    }

    /// The series fingerprint of the sample at `position` (see ``SeriesFingerprint``).
    package func fingerprint(at position: Int) -> UInt64 {
        let sample = samples[position]
        var fingerprint = SeriesFingerprint.start(name: hashes[Int(sample.name)])
        let start = Int(sample.labelStart)
        for index in start..<(start + Int(sample.labelCount)) {
            let label = labels[index]
            fingerprint &+= SeriesFingerprint.label(name: hashes[Int(label.name)], value: hashes[Int(label.value)])
        }
        return fingerprint
    }

    /// The samples at `positions` (ascending), as a new batch sharing this one's strings.
    package func keeping(_ positions: some Sequence<Int>) -> MetricBatch {
        var kept = MetricBatch()
        kept.strings = strings
        kept.hashes = hashes
        for position in positions {
            let sample = samples[position]
            let labelStart = kept.labels.count
            kept.labels.append(contentsOf: labels[Int(sample.labelStart)..<Int(sample.labelStart + sample.labelCount)])
            let partStart = kept.parts.count
            kept.parts.append(contentsOf: parts[Int(sample.partStart)..<Int(sample.partStart + sample.partCount)])
            if let extra = metadata[position] { kept.metadata[kept.samples.count] = extra }
            kept.appendSample(
                name: sample.name, help: sample.help, type: sample.type, value: sample.value, count: sample.count,
                timestamp: sample.timestamp, labelStart: labelStart, partStart: partStart)
        }
        return kept
    }

    /// The batch with `extra` on every sample, each replacing a label of the same name the sample had (a plugin
    /// entry's `labels:`).
    package func addingLabels(_ extra: [Label]) -> MetricBatch {
        guard !extra.isEmpty else { return self }
        var result = self
        result.labels = []
        result.labels.reserveCapacity(labels.count + samples.count * extra.count)
        let added = extra.map { LabelReference(name: result.intern($0.name), value: result.intern($0.value)) }
        let names = Set(extra.map(\.name))
        for position in samples.indices {
            let sample = samples[position]
            let start = result.labels.count
            for label in labels[Int(sample.labelStart)..<Int(sample.labelStart + sample.labelCount)]
            where !names.contains(strings[Int(label.name)]) {
                result.labels.append(label)
            }
            result.labels.append(contentsOf: added)
            result.samples[position].labelStart = UInt32(truncatingIfNeeded: start)
            result.samples[position].labelCount = UInt32(truncatingIfNeeded: result.labels.count - start)
        }
        return result
    }

    // MARK: Building a batch (the plugin host, the runner codec)

    /// Reserves room for `samples` samples with `labels` labels in all.
    package mutating func reserveCapacity(samples sampleCount: Int, labels labelCount: Int) {
        samples.reserveCapacity(sampleCount)
        labels.reserveCapacity(labelCount)
    }

    /// Reserves room for `count` samples, leaving the other arrays alone (they may be shared with a template).
    package mutating func reserveSamples(_ count: Int) {
        samples.reserveCapacity(count)
    }

    /// Adds a string with its ``ContentHash`` to the table and returns its index. The caller deduplicates.
    @inlinable
    package mutating func addString(_ string: String, hash: UInt64) -> UInt32 {
        strings.append(string)
        hashes.append(hash)
        return UInt32(truncatingIfNeeded: strings.count - 1)
    }

    /// The index of the empty string (an empty label value), added the first time it is needed.
    package mutating func addEmptyString() -> UInt32 {
        if emptyString == Self.noString { emptyString = addString("", hash: ContentHash.hash("")) }
        return emptyString
    }

    /// How many labels and parts are stored; a sample that is refused halfway rolls back to these.
    @inlinable package var marks: (labels: Int, parts: Int) { (labels.count, parts.count) }

    /// Forgets labels and parts past `marks` (those of a refused sample).
    package mutating func rollBack(to marks: (labels: Int, parts: Int)) {
        if labels.count > marks.labels { labels.removeSubrange(marks.labels...) }
        if parts.count > marks.parts { parts.removeSubrange(marks.parts...) }
    }

    @inlinable
    package mutating func appendLabel(name: UInt32, value: UInt32) {
        labels.append(LabelReference(name: name, value: value))
    }

    @inlinable
    package mutating func appendPart(key: Double, bits: UInt64) {
        parts.append(Part(key: key, bits: bits))
    }

    /// Whether a label appended since `start` has the name at string index `name` (a sample's labels are checked
    /// for duplicates while it is built; equal strings share one index).
    @inlinable
    package func hasLabel(named name: UInt32, from start: Int) -> Bool {
        var index = start
        while index < labels.count {
            if labels[index].name == name { return true }
            index += 1
        }
        return false
    }

    /// Appends a sample whose labels and parts were appended since `labelStart` and `partStart`.
    @inlinable
    package mutating func appendSample(
        name: UInt32, help: UInt32, type: MetricType, value: Double, count: UInt64, timestamp: Int64,
        labelStart: Int, partStart: Int
    ) {
        samples.append(Sample(
            name: name, help: help, type: type,
            labelStart: UInt32(truncatingIfNeeded: labelStart),
            labelCount: UInt32(truncatingIfNeeded: labels.count - labelStart),
            partStart: UInt32(truncatingIfNeeded: partStart),
            partCount: UInt32(truncatingIfNeeded: parts.count - partStart),
            value: value, count: count, timestamp: timestamp))
    }

    /// Removes the last sample and its labels and parts (a registration that turned out to be a repeat).
    package mutating func removeLastSample() {
        guard let last = samples.popLast() else { return }
        rollBack(to: (Int(last.labelStart), Int(last.partStart)))
        metadata[samples.count] = nil
    }

    /// Where a template's strings and labels start in this batch, once ``appendTable(of:)`` has added them.
    @usableFromInline package struct TemplateOffsets: Sendable {
        /// Added to a template string index.
        @usableFromInline package let strings: UInt32
        /// Added to a template label index.
        @usableFromInline package let labels: UInt32
        /// How many samples the template had: the samples that may be appended from it.
        @usableFromInline package let samples: Int
    }

    /// Adds `template`'s strings and labels (not its samples), so that samples appended with
    /// ``appendSample(from:at:offsets:value:timestamp:)`` can reference them. An empty batch shares the
    /// template's arrays (copy on write): no string is copied or retained one by one.
    package mutating func appendTable(of template: MetricBatch) -> TemplateOffsets {
        if strings.isEmpty, labels.isEmpty {
            strings = template.strings
            hashes = template.hashes
            labels = template.labels
            return TemplateOffsets(strings: 0, labels: 0, samples: template.samples.count)
        }
        let offsets = TemplateOffsets(
            strings: UInt32(truncatingIfNeeded: strings.count), labels: UInt32(truncatingIfNeeded: labels.count),
            samples: template.samples.count)
        strings.append(contentsOf: template.strings)
        hashes.append(contentsOf: template.hashes)
        labels.append(contentsOf: template.labels.lazy.map { label in
            LabelReference(name: label.name + offsets.strings, value: label.value + offsets.strings)
        })
        return offsets
    }

    /// Appends a copy of `template`'s counter or gauge sample `index` with a new value and timestamp; the
    /// template's table was added at `offsets` by ``appendTable(of:)``.
    @inlinable
    package mutating func appendSample(
        from template: MetricBatch, at index: Int, offsets: TemplateOffsets, value: Double, timestamp: Int64
    ) {
        let shape = template.samples[index]
        samples.append(Sample(
            name: shape.name &+ offsets.strings,
            help: shape.help == Self.noString ? Self.noString : shape.help &+ offsets.strings,
            type: shape.type, labelStart: shape.labelStart &+ offsets.labels, labelCount: shape.labelCount,
            partStart: UInt32(truncatingIfNeeded: parts.count), partCount: 0, value: value, count: 0,
            timestamp: timestamp))
    }

    /// The type of the sample at `position`.
    @inlinable package func type(at position: Int) -> MetricType { samples[position].type }

    private mutating func intern(_ string: String) -> UInt32 {
        if let index = lookup[string] { return index }
        let index = addString(string, hash: ContentHash.hash(string))
        lookup[string] = index
        return index
    }
}

import Foundation

/// One metric sample: the spec's `Metric`.
public struct Metric: Sendable, Hashable {
    public var name: String
    public var value: MetricValue
    public var labels: [Label]
    public var timestamp: Date
    /// Free-form metadata; `help` (a string) is used as the Prometheus HELP text when present.
    public var metadata: [String: JSONValue]

    public init(
        name: String,
        value: MetricValue,
        labels: [Label] = [],
        timestamp: Date = Date(),
        metadata: [String: JSONValue] = [:]
    ) {
        self.name = name
        self.value = value
        self.labels = labels
        self.timestamp = timestamp
        self.metadata = metadata
    }

    /// The series this sample belongs to.
    public var seriesKey: SeriesKey { SeriesKey(name: name, labels: labels) }

    /// The HELP text carried in `metadata["help"]`, if any.
    public var help: String? {
        if case .string(let text) = metadata["help"] { return text }
        return nil
    }
}

/// What `list_metrics` reports about one series: the spec's `MetricInfo`.
public struct MetricInfo: Sendable, Hashable {
    public var name: String
    public var type: MetricType
    public var labels: [Label]
    public var help: String?
    /// The latest value of the series.
    public var value: MetricValue
    /// When the latest value was recorded.
    public var lastUpdated: Date

    public init(name: String, type: MetricType, labels: [Label], help: String?, value: MetricValue, lastUpdated: Date) {
        self.name = name
        self.type = type
        self.labels = labels
        self.help = help
        self.value = value
        self.lastUpdated = lastUpdated
    }
}

/// Which series `list_metrics` returns: the spec's `MetricFilter`. Every set field must match.
public struct MetricFilter: Sendable, Hashable {
    /// Exact metric name.
    public var name: String?
    /// Metric name prefix.
    public var namePrefix: String?
    /// Metric type.
    public var type: MetricType?
    /// Labels the series must carry with exactly these values.
    public var labels: [Label]

    public init(name: String? = nil, namePrefix: String? = nil, type: MetricType? = nil, labels: [Label] = []) {
        self.name = name
        self.namePrefix = namePrefix
        self.type = type
        self.labels = labels
    }

    /// Whether a series with this name, type and labels passes the filter.
    public func matches(name seriesName: String, type seriesType: MetricType, labels seriesLabels: [Label]) -> Bool {
        if let name, name != seriesName { return false }
        if let namePrefix, !seriesName.hasPrefix(namePrefix) { return false }
        if let type, type != seriesType { return false }
        for wanted in labels where !seriesLabels.contains(wanted) { return false }
        return true
    }
}

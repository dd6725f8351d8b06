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
    /// A regular expression the whole metric name must match (Prometheus-style, anchored).
    public var nameRegex: AnchoredRegex?
    /// Metric type.
    public var type: MetricType?
    /// Labels the series must carry with exactly these values.
    public var labels: [Label]
    /// Label matchers (`=`, `!=`, `=~`, `!~`); a label a series lacks counts as `""`, as in Prometheus.
    public var matchers: [LabelMatcher]
    /// Only series last updated at or after this time.
    public var since: Date?
    /// Only series last updated at or before this time.
    public var until: Date?

    public init(
        name: String? = nil, namePrefix: String? = nil, nameRegex: AnchoredRegex? = nil, type: MetricType? = nil,
        labels: [Label] = [], matchers: [LabelMatcher] = [], since: Date? = nil, until: Date? = nil
    ) {
        self.name = name
        self.namePrefix = namePrefix
        self.nameRegex = nameRegex
        self.type = type
        self.labels = labels
        self.matchers = matchers
        self.since = since
        self.until = until
    }

    /// The series a selector names, e.g. `MetricFilter(selector: try .parse("up{job=~\"api.*\"}"))`.
    public init(selector: MetricSelector, type: MetricType? = nil, since: Date? = nil, until: Date? = nil) {
        self.init(name: selector.name, type: type, matchers: selector.matchers, since: since, until: until)
        nameMatchers = selector.nameMatchers
    }

    /// Matchers on the metric name (a selector's `__name__` matchers).
    public var nameMatchers: [LabelMatcher] = []

    /// The filter, or an `invalidQuery` error when its time range is inverted.
    public func validated() throws(MonitoringError) -> MetricFilter {
        if let since, let until, since > until {
            throw .invalidQuery(
                "the time range is inverted: since (\(since)) is after until (\(until))",
                hint: "swap the two times, or leave one of them out")
        }
        return self
    }

    /// Whether a series with this name, type and labels passes the filter (the time range is not checked).
    public func matches(name seriesName: String, type seriesType: MetricType, labels seriesLabels: [Label]) -> Bool {
        if let name, name != seriesName { return false }
        if let namePrefix, !seriesName.hasPrefix(namePrefix) { return false }
        if let nameRegex, !nameRegex.matches(seriesName) { return false }
        if let type, type != seriesType { return false }
        for wanted in labels where !seriesLabels.contains(wanted) { return false }
        for matcher in nameMatchers where !matcher.matches(value: seriesName) { return false }
        for matcher in matchers where !matcher.matches(seriesLabels) { return false }
        return true
    }

    /// Whether a series last updated at `lastUpdated` lies in the filter's time range.
    public func matches(lastUpdated: Date) -> Bool {
        if let since, lastUpdated < since { return false }
        if let until, lastUpdated > until { return false }
        return true
    }
}

/// A metric label: one name/value pair of a series' identity.
public struct Label: Sendable, Hashable, Codable, Comparable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }

    public init(name: String, value: String) {
        self.init(name, value)
    }

    public static func < (lhs: Label, rhs: Label) -> Bool {
        lhs.name == rhs.name ? lhs.value < rhs.value : lhs.name < rhs.name
    }
}

/// The identity of one time series: a metric name plus its label set, sorted by label name.
public struct SeriesKey: Sendable, Hashable, Comparable {
    public let name: String
    public let labels: [Label]

    /// Creates a key; labels are sorted so that `{a,b}` and `{b,a}` are the same series.
    public init(name: String, labels: [Label]) {
        self.name = name
        self.labels = labels.sorted()
    }

    public static func < (lhs: SeriesKey, rhs: SeriesKey) -> Bool {
        if lhs.name != rhs.name { return lhs.name < rhs.name }
        return lhs.labels.lexicographicallyPrecedes(rhs.labels)
    }
}

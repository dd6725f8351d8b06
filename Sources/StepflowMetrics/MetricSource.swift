import StepflowCore

/// Who records samples into the metrics engine. Each series belongs to the source that created it: a sample of
/// it from another source is refused with ``SampleRefusal/ownedByOtherSource``, naming the owner (docs/plugins.md,
/// "Series ownership and expiry").
public struct MetricSource: Hashable, Sendable, CustomStringConvertible {
    /// What kind of producer it is.
    public enum Kind: String, Sendable, Hashable {
        /// A metrics-collector plugin, named by its instance name.
        case plugin
        /// `POST /api/v1/metrics` and the other ingest endpoints.
        case http
        /// The swift-metrics backend of an application that embeds the host.
        case swiftMetrics = "swift-metrics"
        /// The host's own collectors (the process collector).
        case host
        /// The library API (`MetricsCollector`) of an application that embeds the host.
        case application
    }

    public let kind: Kind
    /// The plugin's instance name; empty for the other kinds.
    public let name: String

    public init(kind: Kind, name: String = "") {
        self.kind = kind
        self.name = name
    }

    /// A plugin instance.
    public static func plugin(_ name: String) -> MetricSource { MetricSource(kind: .plugin, name: name) }
    public static let http = MetricSource(kind: .http)
    public static let swiftMetrics = MetricSource(kind: .swiftMetrics)
    public static let host = MetricSource(kind: .host)
    public static let application = MetricSource(kind: .application)

    /// `plugin 'cpu'`, `the HTTP ingest API`, …: how refusals and logs name the source.
    public var description: String {
        switch kind {
        case .plugin: return "plugin '\(name)'"
        case .http: return "the HTTP ingest API"
        case .swiftMetrics: return "the swift-metrics backend"
        case .host: return "the host's own collectors"
        case .application: return "the application API"
        }
    }

    /// The value of the `source` label on the engine's own metrics: `plugin:cpu`, `http`, …
    public var label: String { kind == .plugin ? "plugin:\(name)" : kind.rawValue }
}

/// How the engine treats one source's series.
public struct MetricSourcePolicy: Sendable, Hashable {
    /// How long a series stays in memory and on `/metrics` after its source last reported it; `nil` keeps it
    /// until the host stops. Stored history is never touched.
    public var staleAfter: Duration?
    /// The most series the source may own at once (a plugin's `budgets.series`); `nil` leaves only the engine's
    /// own limits.
    public var maxSeries: Int?

    public init(staleAfter: Duration? = nil, maxSeries: Int? = nil) {
        self.staleAfter = staleAfter
        self.maxSeries = maxSeries
    }
}

/// What the engine knows of one source: the series it owns and the samples of it refused, by reason.
public struct MetricSourceStatistics: Sendable, Hashable {
    public var series: Int = 0
    public var refused: [SampleRefusal: UInt64] = [:]

    public init() {}
}

/// Why series left the in-memory table.
public enum SeriesExpiryReason: String, Sendable, Hashable, CaseIterable {
    /// Not reported by its source for its stale time.
    case stale
    /// Its source (a plugin) was removed or disabled.
    case sourceRemoved = "source_removed"
}

import ArgumentParser
import Foundation
import StepflowConfig
import StepflowCore
import StepflowStorage

/// `stepflow-monitor metrics …`: read the series a host has stored, from its database, read-only.
struct MetricsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Read the metrics a host has stored (its SQLite database, opened read-only; the host may be running).",
        subcommands: [List.self, Get.self]
    )

    /// Where the database is: `--database`, else `storage.path` of the configuration.
    struct DatabaseOptions: ParsableArguments {
        @OptionGroup var config: ConfigOptions

        @Option(help: ArgumentHelp("The database file. Default: storage.path of the configuration.", valueName: "path"))
        var database: String?

        func open() throws -> MonitoringDatabase {
            let path: String
            if let database {
                path = database
            } else {
                do {
                    path = try ConfigurationLoader.load(path: config.path).configuration.storage.path
                } catch {
                    fail("\(error.detailedDescription)", status: 2)
                }
            }
            do {
                return try MonitoringDatabase(readOnlyPath: path)
            } catch {
                fail("stepflow-monitor: \(error)")
            }
        }
    }

    /// `stepflow-monitor metrics list`.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the stored series with their latest value.",
            discussion: """
                Examples:
                  stepflow-monitor metrics list
                  stepflow-monitor metrics list --filter 'node_filesystem_avail_bytes{mountpoint=~"/srv/.*"}'
                  stepflow-monitor metrics list --filter '{__name__=~"process_.*"}' --type gauge
                """)

        @OptionGroup var options: DatabaseOptions

        @Option(help: ArgumentHelp("A Prometheus selector: name{label=\"v\",other=~\"re\"}.", valueName: "selector"))
        var filter: String?

        @Option(help: "Only series of this type: counter, gauge, histogram or summary.")
        var type: String?

        @Flag(help: "Print JSON lines instead of a table.")
        var json = false

        func run() async throws {
            var metricFilter = MetricFilter()
            if let filter {
                do {
                    metricFilter = MetricFilter(selector: try MetricSelector.parse(filter))
                } catch {
                    fail("stepflow-monitor: --filter: \(error.message)", status: 2)
                }
            }
            if let type {
                guard let parsed = MetricType(rawValue: type) else {
                    fail("stepflow-monitor: --type: expected counter, gauge, histogram or summary, found '\(type)'", status: 2)
                }
                metricFilter.type = parsed
            }
            let database = try options.open()
            let series: [MetricInfo]
            do {
                series = try await MetricStore(database: database).latest(filter: metricFilter)
            } catch {
                fail("stepflow-monitor: \(error)")
            }
            if json {
                for info in series { print(MetricCommandFormat.json(info)) }
                return
            }
            if series.isEmpty {
                print("no stored series match" + (filter.map { " \($0)" } ?? "") + " in \(database.path)")
                return
            }
            let rows = series.map { info in
                [info.name, MetricCommandFormat.labels(info.labels), info.type.rawValue,
                 MetricCommandFormat.value(info.value), MetricCommandFormat.time(info.lastUpdated)]
            }
            print(TextTable.render(columns: ["NAME", "LABELS", "TYPE", "VALUE", "UPDATED"], rows: rows))
        }
    }

    /// `stepflow-monitor metrics get NAME`.
    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the stored points of a metric's series over a recent time range, newest last.",
            discussion: """
                Examples:
                  stepflow-monitor metrics get node_load1 --since 1h
                  stepflow-monitor metrics get node_filesystem_avail_bytes --label mountpoint=/ --limit 5
                """)

        @OptionGroup var options: DatabaseOptions

        @Argument(help: "The metric name.")
        var name: String

        @Option(name: .customLong("label"), help: ArgumentHelp("Only series with this label (repeatable).", valueName: "name=value"))
        var labels: [String] = []

        @Option(help: ArgumentHelp("How far back to read: 30s, 15m, 2h, ...", valueName: "duration"))
        var since: String = "15m"

        @Option(help: "The most points shown per series (the newest).")
        var limit: Int = 20

        @Option(help: "raw, aggregated or auto (both).")
        var mode: String = "auto"

        func run() async throws {
            guard MetricNameRules.isValidMetricName(name) else {
                fail("stepflow-monitor: '\(name)' is not a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)", status: 2)
            }
            var wanted: [Label] = []
            for pair in labels {
                guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                    fail("stepflow-monitor: --label: expected name=value, found '\(pair)'", status: 2)
                }
                wanted.append(Label(String(pair[..<equals]), String(pair[pair.index(after: equals)...])))
            }
            guard let window = ConfigurationLoader.parseDuration(since), window > .zero else {
                fail("stepflow-monitor: --since: expected \(ConfigurationLoader.durationGrammar), found '\(since)'", status: 2)
            }
            guard let selection = StoredPointSelection(rawValue: mode) else {
                fail("stepflow-monitor: --mode: expected raw, aggregated or auto, found '\(mode)'", status: 2)
            }
            guard limit > 0 else { fail("stepflow-monitor: --limit must be at least 1", status: 2) }
            let database = try options.open()
            let end = Date()
            let start = end.addingTimeInterval(-window.inSeconds)
            let series: [StoredSeries]
            let required = wanted
            do {
                series = try await MetricStore(database: database).series(
                    named: name, from: start.unixMilliseconds, to: end.unixMilliseconds,
                    selection: selection, matches: { labels in required.allSatisfy(labels.contains) })
            } catch {
                fail("stepflow-monitor: \(error)")
            }
            guard !series.isEmpty else {
                fail("stepflow-monitor: no series named \(name)\(wanted.isEmpty ? "" : " with " + MetricCommandFormat.labels(wanted)) "
                    + "has points in the last \(since) in \(database.path)")
            }
            for (index, stored) in series.enumerated() {
                if index > 0 { print("") }
                print("\(stored.name)\(MetricCommandFormat.labels(stored.labels, braces: true)) (\(stored.type.rawValue)), "
                    + "\(stored.points.count) point(s) in the last \(since)")
                let rows = stored.points.suffix(limit).map { point -> [String] in
                    let aggregate = point.aggregate
                    return [
                        MetricCommandFormat.time(Date(timeIntervalSince1970: Double(point.timestamp) / 1000)),
                        point.kind.rawValue, MetricCommandFormat.value(point.value),
                        aggregate.map { "\($0.samples)" } ?? "",
                        aggregate?.min.map(MetricCommandFormat.number) ?? "",
                        aggregate?.max.map(MetricCommandFormat.number) ?? "",
                    ]
                }
                print(TextTable.render(columns: ["TIME", "KIND", "VALUE", "SAMPLES", "MIN", "MAX"], rows: rows))
            }
        }
    }
}

/// How the metrics commands print values.
enum MetricCommandFormat {
    static func number(_ value: Double) -> String { value.prometheusText }

    static func value(_ value: MetricValue) -> String {
        switch value {
        case .counter(let number), .gauge(let number):
            return Self.number(number)
        case .histogram(let histogram):
            return "count=\(histogram.count) sum=\(number(histogram.sum))"
        case .summary(let summary):
            let quantiles = summary.quantiles.map { "q\(number($0.quantile))=\(number($0.value))" }
            return (["count=\(summary.count)", "sum=\(number(summary.sum))"] + quantiles).joined(separator: " ")
        }
    }

    static func labels(_ labels: [Label], braces: Bool = false) -> String {
        if labels.isEmpty { return braces ? "" : "-" }
        let body = labels.map { "\($0.name)=\"\($0.value)\"" }.joined(separator: ",")
        return braces ? "{\(body)}" : body
    }

    static func time(_ date: Date) -> String {
        date.rfc3339Seconds
    }

    static func json(_ info: MetricInfo) -> String {
        var object: [String: JSONValue] = [
            "name": .string(info.name), "type": .string(info.type.rawValue),
            "labels": .object(Dictionary(info.labels.map { ($0.name, JSONValue.string($0.value)) }, uniquingKeysWith: { a, _ in a })),
            "value": .string(value(info.value)), "updated": .string(time(info.lastUpdated)),
        ]
        if let help = info.help { object["help"] = .string(help) }
        return JSONValue.object(object).jsonText
    }
}

/// Prints `message` to standard error and exits with `status` (1: the data is missing or unreadable; 2: bad usage).
func fail(_ message: String, status: Int32 = 1) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    Foundation.exit(status)
}

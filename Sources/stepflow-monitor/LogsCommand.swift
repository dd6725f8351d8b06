import ArgumentParser
import Foundation
import StepflowConfig
import StepflowCore
import StepflowLogs
import StepflowStorage

/// `stepflow-monitor logs …`: query, count and export the log entries a host has stored (read-only).
struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Query, count and export the log entries a host has stored (its database, opened read-only).",
        subcommands: [Query.self, Stats.self, Export.self]
    )

    /// The filters every `logs` command takes.
    struct Filters: ParsableArguments {
        @Option(help: "This level and above: trace, debug, info, warn, error, fatal.")
        var level: String?
        @Option(help: ArgumentHelp("How far back: 30s, 15m, 1h, 2d is 48h, ...", valueName: "duration"))
        var since: String?
        @Option(help: ArgumentHelp("Up to this long ago.", valueName: "duration"))
        var until: String?
        @Option var component: String?
        @Option var module: String?
        @Option var function: String?
        @Option(name: .customLong("trace-id")) var traceID: String?
        @Option(name: .customLong("span-id")) var spanID: String?
        @Option(name: .customLong("request-id")) var requestID: String?
        @Option(name: .customLong("user-id")) var userID: String?
        @Option(name: .customLong("grep"), help: "Entries whose message contains this text.")
        var messageContains: String?

        func query(limit: Int = 100) -> LogQuery {
            var query = LogQuery(
                component: component, module: module, function: function, traceID: traceID, spanID: spanID,
                requestID: requestID, userID: userID, messageContains: messageContains, limit: limit)
            if let level {
                guard let parsed = LogLevel(parsing: level) else {
                    fail("stepflow-monitor: --level: unknown log level '\(level)'; use trace, debug, info, warn, error or fatal", status: 2)
                }
                query.minimumLevel = parsed
            }
            query.since = since.map { ago($0, "--since") }
            query.until = until.map { ago($0, "--until") }
            do {
                if let traceID { _ = try TraceID.parse(traceID) }
                if let spanID { _ = try SpanID.parse(spanID) }
                return try query.validated()
            } catch {
                fail("stepflow-monitor: \(error.message)", status: 2)
            }
        }

        private func ago(_ text: String, _ option: String) -> Date {
            guard let duration = ConfigurationLoader.parseDuration(text), duration >= .zero else {
                fail("stepflow-monitor: \(option): expected \(ConfigurationLoader.durationGrammar), found '\(text)'", status: 2)
            }
            return Date().addingTimeInterval(-duration.inSeconds)
        }
    }

    /// `stepflow-monitor logs query`.
    struct Query: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the newest log entries matching the filters (or the oldest, with --oldest-first).",
            discussion: """
                Examples:
                  stepflow-monitor logs query --level warn --since 1h --component api
                  stepflow-monitor logs query --trace-id 4bf92f3577b34da6a3ce929d0e0e4736
                """)

        @OptionGroup var database: MetricsCommand.DatabaseOptions
        @OptionGroup var filters: Filters
        @Option(help: "The most entries printed (1 to 10000).") var limit: Int = 50
        @Flag(help: "Oldest first.") var oldestFirst = false
        @Flag(help: "Print NDJSON instead of lines.") var json = false

        func run() async throws {
            var query = filters.query(limit: limit)
            query.order = oldestFirst ? .oldestFirst : .newestFirst
            let store = LogStore(database: try database.open())
            let page: LogPage
            do {
                page = try await store.query(query)
            } catch {
                fail("stepflow-monitor: \(error)")
            }
            for entry in page.entries {
                if json {
                    print(LogEntryJSON.text(entry))
                } else {
                    let context = entry.context
                    var line = "\(MetricCommandFormat.time(entry.timestamp)) \(entry.level.rawValue.uppercased()) "
                    line += "[\(context.component.isEmpty ? entry.source : context.component)] \(entry.message)"
                    if let trace = context.traceID { line += "  trace=\(trace)" }
                    print(line)
                }
            }
            if page.entries.isEmpty { FileHandle.standardError.write(Data("no log entries match\n".utf8)) }
            if page.nextCursor != nil {
                FileHandle.standardError.write(Data("(more entries match; raise --limit or narrow the filters)\n".utf8))
            }
        }
    }

    /// `stepflow-monitor logs stats`.
    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Count log entries per level and component.")

        @OptionGroup var database: MetricsCommand.DatabaseOptions
        @OptionGroup var filters: Filters

        func run() async throws {
            let query = filters.query()
            let store = LogStore(database: try database.open())
            let stats: LogStats
            do {
                stats = try await store.stats(LogFilter(
                    since: query.since, until: query.until, component: query.component, minimumLevel: query.minimumLevel))
            } catch {
                fail("stepflow-monitor: \(error)")
            }
            print("entries: \(stats.total)")
            if let first = stats.first, let last = stats.last {
                print("from \(MetricCommandFormat.time(first)) to \(MetricCommandFormat.time(last)), "
                    + String(format: "%.1f per minute", stats.ratePerMinute))
            }
            print("")
            print(TextTable.render(
                columns: ["LEVEL", "ENTRIES"],
                rows: LogLevel.allCases.reversed().map { [$0.rawValue, "\(stats.byLevel[$0] ?? 0)"] }))
            print("")
            let components = stats.byComponent.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            print(TextTable.render(
                columns: ["COMPONENT", "ENTRIES"], rows: components.map { [$0.key.isEmpty ? "-" : $0.key, "\($0.value)"] }))
        }
    }

    /// `stepflow-monitor logs export`.
    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write every entry matching the filters to standard output, oldest first, showing progress on standard error.",
            discussion: """
                Examples:
                  stepflow-monitor logs export --format ndjson --since 1h > out.ndjson
                  stepflow-monitor logs export --format csv --level error > errors.csv
                """)

        @OptionGroup var database: MetricsCommand.DatabaseOptions
        @OptionGroup var filters: Filters
        @Option(help: "json (one array), ndjson or csv (RFC 4180).") var format: String = "ndjson"

        func run() async throws {
            guard let exportFormat = ExportFormat(rawValue: format) else {
                fail("stepflow-monitor: --format: expected json, ndjson or csv, found '\(format)'", status: 2)
            }
            var query = filters.query()
            query.order = .oldestFirst
            let store = LogStore(database: try database.open())
            let total = await (try? store.stats(LogFilter(
                since: query.since, until: query.until, component: query.component, minimumLevel: query.minimumLevel)).total)
            let output = FileHandle.standardOutput
            let progress = ExportProgress(total: total)
            do {
                var chunks = try LogExportChunks(store: store, query: query, format: exportFormat).makeAsyncIterator()
                while let chunk = try await chunks.next() {
                    if !chunk.bytes.isEmpty { try output.write(contentsOf: Data(chunk.bytes)) }
                    if chunk.entries > 0 { progress.show(chunk.written) }
                }
                progress.finish(chunks.written)
            } catch {
                progress.finish(nil)
                fail("stepflow-monitor: the export failed: \(error)")
            }
        }
    }
}

/// "exported 12000 of 50000 entries (24%)" on standard error, rewritten in place on a terminal.
struct ExportProgress {
    let total: Int?
    private let terminal = isatty(STDERR_FILENO) == 1

    init(total: Int?) { self.total = total }

    func show(_ written: Int) {
        var text = "exported \(written)"
        if let total, total > 0 {
            text += " of \(total) entries (\(min(100, written * 100 / total))%)"
        } else {
            text += " entries"
        }
        FileHandle.standardError.write(Data((terminal ? "\r" + text : text + "\n").utf8))
    }

    func finish(_ written: Int?) {
        if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
        if let written { FileHandle.standardError.write(Data("done: \(written) entries\n".utf8)) }
    }
}

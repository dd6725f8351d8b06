import ArgumentParser
import Foundation
import StepflowConfig
import StepflowCore
import StepflowStorage

/// `stepflow-monitor traces …`: read the traces a host has stored (read-only).
struct TracesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "traces",
        abstract: "Read the traces a host has stored (its database, opened read-only).",
        subcommands: [Get.self, Query.self]
    )

    /// `stepflow-monitor traces get ID`.
    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print one trace as a tree of spans with their durations.")

        @OptionGroup var database: MetricsCommand.DatabaseOptions
        @Argument(help: "The trace id: 32 hex digits.") var id: String

        func run() async throws {
            let traceID: TraceID
            do {
                traceID = try TraceID.parse(id)
            } catch {
                fail("stepflow-monitor: \(error.message) (\(error.hint ?? ""))", status: 2)
            }
            let store = TraceStore(database: try database.open())
            let trace: Trace?
            do {
                trace = try await store.trace(traceID)
            } catch {
                fail("stepflow-monitor: \(error)")
            }
            guard let trace else { fail("stepflow-monitor: no trace \(id) is stored in \(store.database.path)") }
            print("trace \(trace.traceID)  \(trace.spans.count) span(s)  \(trace.duration.clampedMilliseconds) ms  "
                + "from \(MetricCommandFormat.time(trace.startTime))")
            var depth: [SpanID: Int] = [:]
            for span in trace.spans {
                let level = span.parentSpanID.flatMap { depth[$0].map { $0 + 1 } } ?? 0
                depth[span.spanID] = level
                let duration = span.duration.map { "\($0.clampedMilliseconds) ms" } ?? "open"
                var line = String(repeating: "  ", count: level) + "\(span.name)  \(duration)  \(span.status.rawValue)"
                if case .string(let message)? = span.metadata["error.message"] { line += "  error: \(message)" }
                print(line)
            }
        }
    }

    /// `stepflow-monitor traces query`.
    struct Query: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List recent traces by operation, time, duration or status.",
            discussion: """
                Examples:
                  stepflow-monitor traces query --operation "GET /api/orders" --min-duration 250ms
                  stepflow-monitor traces query --status error --since 1h
                """)

        @OptionGroup var database: MetricsCommand.DatabaseOptions
        @Option(help: "The span name (operation).") var operation: String?
        @Option(help: ArgumentHelp("How far back.", valueName: "duration")) var since: String?
        @Option(name: .customLong("min-duration"), help: ArgumentHelp("Spans at least this long.", valueName: "duration"))
        var minimumDuration: String?
        @Option(help: "ok, error, timed_out or cancelled.") var status: String?
        @Option(help: "The most traces listed.") var limit: Int = 20

        func run() async throws {
            var query = TraceQuery(operation: operation, limit: limit)
            if let since {
                guard let duration = ConfigurationLoader.parseDuration(since) else {
                    fail("stepflow-monitor: --since: expected \(ConfigurationLoader.durationGrammar), found '\(since)'", status: 2)
                }
                query.since = Date().addingTimeInterval(-duration.inSeconds)
            }
            if let minimumDuration {
                guard let duration = ConfigurationLoader.parseDuration(minimumDuration) else {
                    fail("stepflow-monitor: --min-duration: expected \(ConfigurationLoader.durationGrammar), found '\(minimumDuration)'", status: 2)
                }
                query.minimumDuration = duration
            }
            if let status {
                guard let parsed = SpanStatus(rawValue: status) else {
                    fail("stepflow-monitor: --status: expected ok, error, timed_out or cancelled, found '\(status)'", status: 2)
                }
                query.status = parsed
            }
            let store = TraceStore(database: try database.open())
            let traces: [Trace]
            do {
                traces = try await store.traces(query)
            } catch {
                fail("stepflow-monitor: \(error)")
            }
            if traces.isEmpty {
                print("no stored traces match")
                return
            }
            let rows = traces.map { trace -> [String] in
                let root = trace.roots.first
                let failed = trace.spans.contains { $0.status == .error || $0.status == .timedOut }
                return [trace.traceID.description, MetricCommandFormat.time(trace.startTime), root?.name ?? "-",
                        "\(trace.spans.count)", "\(trace.duration.clampedMilliseconds)", failed ? "error" : "ok"]
            }
            print(TextTable.render(columns: ["TRACE", "START", "ROOT", "SPANS", "MS", "STATUS"], rows: rows))
        }
    }
}

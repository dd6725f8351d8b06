import ArgumentParser
import Foundation
import StepflowCore
import StepflowStorage

/// `stepflow-monitor alerts …`: list a host's alerts (from its database), acknowledge or resolve one (through the
/// running host, which owns their state).
struct AlertsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts",
        abstract: "List alerts, and acknowledge or resolve one on a running host.",
        subcommands: [List.self, Acknowledge.self, Resolve.self]
    )

    /// `stepflow-monitor alerts list`.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the open alerts (or those of --status) from the host's database, read-only.",
            discussion: """
                Examples:
                  stepflow-monitor alerts list
                  stepflow-monitor alerts list --status firing --severity critical
                  stepflow-monitor alerts list --status resolved --rule DiskAlmostFull --json
                """)

        @OptionGroup var database: MetricsCommand.DatabaseOptions
        @Option(help: "Comma-separated: pending, firing, acknowledged, resolved, silenced. Default: the open ones.")
        var status: String?
        @Option(help: "This severity and more urgent: critical, warning, info, debug.") var severity: String?
        @Option(help: "Only the alerts of the rule with this name.") var rule: String?
        @Option(help: "The most alerts listed.") var limit: Int = 100
        @Flag(help: "Print one JSON object per alert instead of a table.") var json = false

        func run() async throws {
            var filter = AlertFilter(statuses: [.pending, .firing, .acknowledged], name: rule)
            if let status {
                var statuses = Set<AlertStatus>()
                for part in status.split(separator: ",") {
                    guard let parsed = AlertStatus(rawValue: part.trimmingCharacters(in: .whitespaces)) else {
                        fail("stepflow-monitor: --status: expected " + AlertStatus.allCases.map(\.rawValue).joined(separator: ", ") + ", found '\(part)'", status: 2)
                    }
                    statuses.insert(parsed)
                }
                filter.statuses = statuses
            }
            if let severity {
                guard let parsed = AlertSeverity(rawValue: severity) else {
                    fail("stepflow-monitor: --severity: expected critical, warning, info or debug, found '\(severity)'", status: 2)
                }
                filter.minimumSeverity = parsed
            }
            let store = AlertStore(database: try database.open())
            let alerts: [Alert]
            do {
                alerts = try await store.alerts(filter: filter, limit: limit)
            } catch {
                fail("stepflow-monitor: \(error)")
            }
            if json {
                for alert in alerts { print(alert.json.jsonText) }
                return
            }
            if alerts.isEmpty {
                print("no alerts")
                return
            }
            let rows = alerts.map { alert -> [String] in
                let status = alert.isSilenced && alert.status.isActive ? alert.status.rawValue + " (silenced)" : alert.status.rawValue
                let labels = alert.labels.filter { $0.name != "alertname" }.map { "\($0.name)=\($0.value)" }.joined(separator: ",")
                return [
                    alert.id.rawValue, alert.name, status, alert.severity.rawValue, alert.activeSince.rfc3339Seconds,
                    alert.value?.description ?? "-", labels.isEmpty ? "-" : labels,
                ]
            }
            print(TextTable.render(columns: ["ID", "RULE", "STATUS", "SEVERITY", "SINCE", "VALUE", "LABELS"], rows: rows))
        }
    }

    /// The options of `ack` and `resolve`.
    struct Action: ParsableArguments {
        @OptionGroup var host: HostOptions
        @Argument(help: "The alert's id (see `alerts list`).") var id: String
        @Option(help: "Who acts.") var user: String
        @Option(help: "Why, or what is being done.") var message: String = ""

        func send(_ verb: String) async {
            let body = JSONValue.object(["user": .string(user), "message": .string(message)]).jsonText
            let path = "/api/v1/alerts/\(id.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? id)/\(verb)"
            let (status, data) = await host.request("POST", path, body: Data(body.utf8))
            guard status == 200 else { fail("stepflow-monitor: \(HostOptions.errorText(data))") }
            let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
            print("alert \(id) is \(object?["status"] as? String ?? "updated")")
        }
    }

    /// `stepflow-monitor alerts ack`.
    struct Acknowledge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ack",
            abstract: "Acknowledge an open alert on the running host: it stays acknowledged, and quiet, until it resolves.",
            discussion: "Example: stepflow-monitor alerts ack 4f1c… --user ana --message \"draining the queue\"")
        @OptionGroup var action: Action
        func run() async throws { await action.send("ack") }
    }

    /// `stepflow-monitor alerts resolve`.
    struct Resolve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Resolve an open alert by hand on the running host (a new one opens if its condition still holds).",
            discussion: "Example: stepflow-monitor alerts resolve 4f1c… --user ana --message \"false alarm\"")
        @OptionGroup var action: Action
        func run() async throws { await action.send("resolve") }
    }
}

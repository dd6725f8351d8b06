import Foundation
import StepflowCore
import StepflowStorage
import Testing

@Suite("stepflow-monitor metrics list and get", .serialized)
struct MetricsCommandTests {
    let executable = buildProductsDirectory + "/stepflow-monitor"

    /// A database holding a few series, written as a host would, with samples over the last minutes.
    func seededDatabase(_ directory: TemporaryDirectory) async throws -> String {
        let path = directory.file("m.sqlite")
        let store = MetricStore(database: try MonitoringDatabase(path: path))
        let now = Date()
        var samples: [Metric] = []
        for minute in 0..<5 {
            let time = now.addingTimeInterval(-Double(4 - minute) * 60)
            for mount in ["/", "/srv"] {
                samples.append(Metric(
                    name: "disk_free_bytes", value: .gauge(Double(1000 * minute + (mount == "/" ? 1 : 2))),
                    labels: [Label("mount", mount)], timestamp: time, metadata: ["help": "Free bytes."]))
            }
            samples.append(Metric(name: "jobs_total", value: .counter(Double(minute * 10)), timestamp: time))
        }
        try await store.insert(samples)
        return path
    }

    @Test("list prints every stored series with its latest value; --filter and --type narrow it")
    func list() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try await seededDatabase(directory)
        let all = try await runProcess(executable, ["metrics", "list", "--database", database])
        #expect(all.status == 0, "\(all.output)")
        let lines = all.output.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        #expect(lines.first == ["NAME", "LABELS", "TYPE", "VALUE", "UPDATED"])
        #expect(lines.dropFirst().map { Array($0.prefix(4)) } == [
            ["disk_free_bytes", "mount=\"/\"", "gauge", "4001"],
            ["disk_free_bytes", "mount=\"/srv\"", "gauge", "4002"],
            ["jobs_total", "-", "counter", "40"],
        ])
        let filtered = try await runProcess(
            executable, ["metrics", "list", "--database", database, "--filter", #"disk_free_bytes{mount=~"/s.*"}"#])
        #expect(filtered.output.contains("mount=\"/srv\""))
        #expect(!filtered.output.contains("mount=\"/\" "))
        let counters = try await runProcess(executable, ["metrics", "list", "--database", database, "--type", "counter", "--json"])
        #expect(counters.output.contains(#""name":"jobs_total""#))
        #expect(!counters.output.contains("disk_free_bytes"))
    }

    @Test("get prints the points of each matching series, newest last")
    func get() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try await seededDatabase(directory)
        let result = try await runProcess(
            executable, ["metrics", "get", "disk_free_bytes", "--database", database, "--label", "mount=/", "--since", "10m"])
        #expect(result.status == 0, "\(result.output)")
        let lines = result.output.split(separator: "\n")
        #expect(lines.first == #"disk_free_bytes{mount="/"} (gauge), 5 point(s) in the last 10m"#)
        #expect(lines.dropFirst(2).map { $0.split(separator: " ", omittingEmptySubsequences: true)[2] } == [
            "1", "1001", "2001", "3001", "4001",
        ])
        let limited = try await runProcess(
            executable, ["metrics", "get", "jobs_total", "--database", database, "--since", "10m", "--limit", "2"])
        #expect(limited.output.split(separator: "\n").count == 4)
    }

    @Test("a missing database, a bad filter, an unknown series and a bad duration say what is wrong")
    func errors() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let missing = try await runProcess(executable, ["metrics", "list", "--database", directory.file("none.sqlite")])
        #expect(missing.status == 1)
        #expect(missing.output.contains("there is no database at"))
        let database = try await seededDatabase(directory)
        let filter = try await runProcess(executable, ["metrics", "list", "--database", database, "--filter", "x{a="])
        #expect(filter.status == 2)
        #expect(filter.output.contains("expected a quoted string"))
        let unknown = try await runProcess(executable, ["metrics", "get", "nothing_here", "--database", database])
        #expect(unknown.status == 1)
        #expect(unknown.output.contains("no series named nothing_here"))
        let duration = try await runProcess(executable, ["metrics", "get", "jobs_total", "--database", database, "--since", "soon"])
        #expect(duration.status == 2)
        #expect(duration.output.contains("--since: expected a duration"))
        let notOurs = try directory.write("other.sqlite", "plain text")
        let refused = try await runProcess(executable, ["metrics", "list", "--database", notOurs])
        #expect(refused.status == 1)
        #expect(refused.output.contains("is not a SQLite database"))
    }
}

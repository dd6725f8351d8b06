import StepflowConfig
import StepflowCore
import Testing

@Suite("profiler: process groups in the configuration")
struct ProfilerConfigTests {
    @Test("groups are read with their criteria, rendered by check-config and read back the same")
    func groupsRoundTrip() throws {
        let yaml = """
            profiler:
              scan_interval: 5s
              processes:
                - name: postgres
                  match: {comm: "postgres", user: "postgres"}
                - name: web workers
                  match:
                    cmdline: ".*gunicorn.*"
                    cgroup: /system.slice/web.service
                  track_children: true
            """
        let configuration = try ConfigurationLoader.parse(yaml: yaml, file: "c.yaml", environment: [:])
        #expect(configuration.profiler.scanInterval == .seconds(5))
        #expect(configuration.profiler.processes == [
            ProcessGroupConfig(name: "postgres", match: ProcessMatch(comm: "postgres", user: "postgres")),
            ProcessGroupConfig(
                name: "web workers", match: ProcessMatch(cmdline: ".*gunicorn.*", cgroup: "/system.slice/web.service"),
                trackChildren: true),
        ])
        let reread = try ConfigurationLoader.parse(
            yaml: ConfigurationLoader.render(configuration), file: "rendered.yaml", environment: [:])
        #expect(reread.profiler == configuration.profiler)
        #expect(ConfigurationLoader.changedSettings(from: .default, to: configuration).contains("profiler.processes"))
    }

    @Test("a bad group is refused with its line, key and reason")
    func badGroups() {
        let cases: [(String, String, String)] = [
            ("- {name: a, match: {cmdline: \"nginx[\"}}", "profiler.processes[0].match.cmdline", "does not compile"),
            ("- {name: a, match: {command: x}}", "profiler.processes[0].match.command", "unknown key"),
            ("- {name: a}", "profiler.processes[0]", "has no match"),
            ("- {match: {comm: x}}", "profiler.processes[0]", "has no name"),
            ("- {name: a, match: {}}", "profiler.processes[0].match", "at least one of comm"),
            ("- {name: a, match: {comm: x}, track_children: maybe}", "profiler.processes[0].track_children", "true or false"),
            ("- {name: a, match: {comm: x}}\n    - {name: a, match: {comm: y}}", "profiler.processes[1].name", "already used"),
            ("- {name: \"\(String(repeating: "n", count: 65))\", match: {comm: x}}", "profiler.processes[0].name", "1 to 64"),
            ("{name: a}", "profiler.processes", "a list of process groups"),
        ]
        for (groups, keyPath, phrase) in cases {
            let issues = parseIssues("profiler:\n  processes:\n    " + groups)
            #expect(issues.contains { $0.keyPath == keyPath && $0.message.contains(phrase) && $0.line != nil }, "\(groups): \(issues)")
        }
    }

    @Test("span metrics settings: read, and bounded")
    func spanMetricsSettings() throws {
        let configuration = try ConfigurationLoader.parse(yaml: """
            profiler:
              span_metrics: false
              span_buckets: [0.01, 0.1, 1]
              max_operations: 50
              proportional_memory: true
            """, file: "c.yaml", environment: [:])
        #expect(!configuration.profiler.spanMetrics)
        #expect(configuration.profiler.spanBuckets == [0.01, 0.1, 1])
        #expect(configuration.profiler.maxOperations == 50)
        #expect(configuration.profiler.proportionalMemory)
        for (yaml, keyPath, phrase) in [
            ("max_operations: 0", "profiler.max_operations", "from 1 to 10000"),
            ("max_operations: 20000", "profiler.max_operations", "from 1 to 10000"),
            ("span_buckets: [1, 0.5]", "profiler.span_buckets", "ascending"),
            ("span_metrics: sometimes", "profiler.span_metrics", "true or false"),
        ] {
            let issues = parseIssues("profiler:\n  " + yaml)
            #expect(issues.contains { $0.keyPath == keyPath && $0.message.contains(phrase) && $0.line == 2 }, "\(yaml): \(issues)")
        }
    }
}

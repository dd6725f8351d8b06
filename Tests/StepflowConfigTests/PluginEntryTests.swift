import StepflowConfig
import StepflowCore
import Testing

@Suite("Plugin entries: isolation and budgets")
struct PluginEntryTests {
    @Test("isolation and budgets are read, and default to in-process and the documented budgets")
    func readsIsolationAndBudgets() throws {
        let configuration = try ConfigurationLoader.parse(yaml: """
            plugins:
              - path: liba.so
                isolation: process
                budgets:
                  metrics_per_collection: 500
                  series: 20
              - path: libb.so
            """, file: "config.yaml", environment: [:])
        #expect(configuration.plugins[0].isolation == .process)
        #expect(configuration.plugins[0].budgets == PluginBudgets(metricsPerCollection: 500, series: 20))
        #expect(configuration.plugins[1].isolation == .inProcess)
        #expect(configuration.plugins[1].budgets == PluginBudgets())
        let rendered = try ConfigurationLoader.parse(
            yaml: ConfigurationLoader.render(configuration), file: "rendered.yaml", environment: [:])
        #expect(rendered == configuration)
    }

    @Test("a bad isolation or budget names the file, line and key path")
    func reportsBadValues() {
        let issues = parseIssues("""
            plugins:
              - path: liba.so
                isolation: sandbox
                budgets:
                  series: 0
                  metrics_per_colection: 10
            """).map(\.description)
        #expect(issues.contains { $0.hasPrefix("config.yaml:3:16: plugins[0].isolation:") && $0.contains("'in-process' or 'process'") })
        #expect(issues.contains { $0.hasPrefix("config.yaml:5:15: plugins[0].budgets.series:") })
        #expect(issues.contains {
            $0.hasPrefix("config.yaml:6:7: plugins[0].budgets.metrics_per_colection: unknown key")
                && $0.contains("metrics_per_collection")
        })
    }

    @Test("labels and stale_after are read, rendered back, and bad ones named with their line")
    func labelsAndStaleAfter() throws {
        let configuration = try ConfigurationLoader.parse(yaml: """
            plugins:
              - path: liba.so
                stale_after: 90s
                labels: {instance: a, zone: "eu-1"}
            """, file: "config.yaml", environment: [:])
        #expect(configuration.plugins[0].staleAfter == .seconds(90))
        #expect(configuration.plugins[0].labels == [Label("instance", "a"), Label("zone", "eu-1")])
        let rendered = try ConfigurationLoader.parse(
            yaml: ConfigurationLoader.render(configuration), file: "rendered.yaml", environment: [:])
        #expect(rendered == configuration)
        let issues = parseIssues("""
            plugins:
              - path: liba.so
                stale_after: 0s
                labels:
                  bad-name: x
                  le: "1"
                  __reserved: y
            """).map(\.description)
        #expect(issues.contains { $0.hasPrefix("config.yaml:3:18: plugins[0].stale_after: must be longer than zero") }, "\(issues)")
        #expect(issues.contains { $0.hasPrefix("config.yaml:5:7: plugins[0].labels.bad-name: 'bad-name' is not a label name") })
        #expect(issues.contains { $0.hasPrefix("config.yaml:6:7: plugins[0].labels.le: 'le' is reserved") })
        #expect(issues.contains { $0.hasPrefix("config.yaml:7:7: plugins[0].labels.__reserved:") })
    }

    @Test("limits.recycle_after_failures is read (0 means never), needs process isolation, and refuses a negative count")
    func recycleAfterFailures() throws {
        let configuration = try ConfigurationLoader.parse(yaml: """
            plugins:
              - path: liba.so
                isolation: process
                limits: {recycle_after_failures: 0}
              - path: libb.so
                isolation: process
            """, file: "config.yaml", environment: [:])
        #expect(configuration.plugins[0].limits.recycleAfterFailures == 0)
        #expect(configuration.plugins[0].limits.failuresBeforeRecycle == nil)
        #expect(configuration.plugins[1].limits.failuresBeforeRecycle == PluginLimits.defaultRecycleAfterFailures)
        let rendered = try ConfigurationLoader.parse(
            yaml: ConfigurationLoader.render(configuration), file: "rendered.yaml", environment: [:])
        #expect(rendered == configuration)
        let issues = parseIssues("""
            plugins:
              - path: liba.so
                isolation: process
                limits: {recycle_after_failures: -1}
              - path: libb.so
                limits: {recycle_after_failures: 3}
            """).map(\.description)
        #expect(issues.contains { $0.contains("plugins[0].limits.recycle_after_failures: must not be negative") }, "\(issues)")
        #expect(issues.contains { $0.contains("plugins[1].limits: limits need 'isolation: process'") }, "\(issues)")
    }
}


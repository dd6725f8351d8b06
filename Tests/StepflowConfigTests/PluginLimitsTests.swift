import StepflowConfig
import StepflowCore
import Testing

@Suite("plugins[].limits")
struct PluginLimitsTests {
    private func plugin(_ body: String) -> String {
        "plugins:\n  - path: libx.so\n" + body
    }

    @Test("memory takes bytes or a KiB/MiB/GiB suffix and cpu_time a duration, with isolation: process")
    func decodesLimits() throws {
        let yaml = plugin("    isolation: process\n    limits:\n      memory: 512MiB\n      cpu_time: 1500ms\n")
        let configuration = try ConfigurationLoader.parse(yaml: yaml, file: "config.yaml", environment: [:])
        let limits = try #require(configuration.plugins.first).limits
        #expect(limits.memoryBytes == 512 << 20)
        #expect(limits.cpuTime == .milliseconds(1500))
        #expect(limits.cpuSeconds == 2)

        let plain = try ConfigurationLoader.parse(
            yaml: plugin("    isolation: process\n    limits:\n      memory: 536870912\n"), file: "config.yaml",
            environment: [:])
        #expect(plain.plugins.first?.limits == PluginLimits(memoryBytes: 512 << 20))
    }

    @Test("limits on an in-process plugin are refused, saying they need isolation: process")
    func refusesInProcessLimits() {
        let issues = parseIssues(plugin("    limits:\n      memory: 1GiB\n"))
        #expect(issues.count == 1)
        #expect(issues.first?.keyPath == "plugins[0].limits")
        #expect(issues.first?.message.contains("isolation: process") == true)
        #expect(issues.first?.line == 4)
    }

    @Test("a malformed or too small memory, a sub-second cpu_time and an unknown key are each reported")
    func reportsBadLimits() {
        let issues = parseIssues(
            plugin(
                "    isolation: process\n    limits:\n      memory: 12 apples\n      cpu_time: 10ms\n      cpu_tme: 1s\n"
            ))
        #expect(
            issues.map(\.keyPath) == [
                "plugins[0].limits.memory", "plugins[0].limits.cpu_time", "plugins[0].limits.cpu_tme",
            ])
        #expect(issues[0].message.contains("'12 apples' is not a byte size"))
        #expect(issues[1].message.contains("at least 1s"))
        #expect(issues[2].suggestion == "cpu_time")

        let tiny = parseIssues(plugin("    isolation: process\n    limits:\n      memory: 1KiB\n"))
        #expect(tiny.first?.message.contains("too small") == true)
    }

    @Test("rendered limits parse back to the same configuration")
    func rendersLimits() throws {
        let yaml = plugin("    isolation: process\n    limits:\n      memory: 3GiB\n      cpu_time: 90s\n")
        let configuration = try ConfigurationLoader.parse(yaml: yaml, file: "config.yaml", environment: [:])
        let rendered = ConfigurationLoader.render(configuration)
        #expect(rendered.contains("limits: {memory: 3GiB, cpu_time: "))
        #expect(try ConfigurationLoader.parse(yaml: rendered, file: "rendered.yaml", environment: [:]) == configuration)
    }
}

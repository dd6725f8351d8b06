import StepflowConfig
import StepflowCore
import Testing

@Suite("Rendering the effective configuration as YAML")
struct RendererTests {
    @Test("the rendered embedded default parses back to the same configuration")
    func embeddedDefaultRoundTrips() throws {
        let configuration = try ConfigurationLoader.load(path: nil, environment: [:]).configuration
        let yaml = ConfigurationLoader.render(configuration)
        #expect(try ConfigurationLoader.parse(yaml: yaml, file: "rendered.yaml", environment: [:]) == configuration)
    }

    @Test("unusual values survive the round trip: escapes, odd durations, nested settings, no name")
    func unusualValuesRoundTrip() throws {
        var configuration = MonitoringConfiguration.default
        configuration.logs.source = "a \"quoted\" source: with # and\nnewline"
        configuration.metrics.collectionInterval = .nanoseconds(1_500_000_001)
        configuration.tracing.samplingRate = 0.000_01
        configuration.http.address = "::1"
        configuration.storage.path = "yes"
        configuration.plugins = [
            PluginConfig(path: "lib A.so", enabled: false, settings: [
                "list": .array([.int(1), .double(2.5), .null, .bool(false), .string("on")]),
                "object": .object(["inner key": .string("*not an alias")]),
                "whole double": .double(3),
            ]),
            PluginConfig(name: "timed", path: "libB.so", interval: .milliseconds(250), timeout: .seconds(7200)),
        ]
        let yaml = ConfigurationLoader.render(configuration)
        #expect(try ConfigurationLoader.parse(yaml: yaml, file: "rendered.yaml", environment: [:]) == configuration)
    }

    @Test("the rendering lists every section and an empty plugin list explicitly")
    func rendersEverySection() {
        let yaml = ConfigurationLoader.render(.default)
        for section in ["metrics:", "logs:", "tracing:", "alerts:", "health:", "exporters:", "  prometheus:",
                        "  elasticsearch:", "http:", "storage:", "scheduler:", "plugins: []"] {
            #expect(yaml.contains("\n" + section + "\n") || yaml.hasSuffix("\n" + section + "\n"), "\(section)")
        }
        #expect(yaml.contains("\n  collection_interval: 1m\n"))
    }
}

import StepflowPluginHost
import Testing

@Suite("Inspecting a plugin library")
struct PluginInspectionTests {
    @Test("the report of a loadable plugin shows its identity, ABI, capabilities, interval and metric names")
    func reportsLoadablePlugin() async throws {
        let inspection = await PluginInspection.inspect(path: try PluginFixtures.filesystemCollector())
        let report = inspection.description
        #expect(inspection.isLoadable)
        #expect(report.contains("name:              filesystem"))
        #expect(report.contains("ABI version:       plugin 1, host 1"))
        #expect(report.contains("capabilities:      metrics_collector"))
        #expect(report.contains("default interval:  30s"))
        #expect(report.contains("  node_filesystem_size_bytes"))
    }

    @Test("the report of a refused plugin shows the precise refusal and what to do")
    func reportsRefusal() async throws {
        let inspection = await PluginInspection.inspect(path: try PluginFixtures.compiled().path("abi99"))
        let report = inspection.description
        #expect(!inspection.isLoadable)
        #expect(report.contains("REFUSED (plugin ABI version not supported)"))
        #expect(report.contains("the plugin speaks ABI version 99, this host speaks ABI version 1"))
        #expect(report.contains("what to do:"))
    }

    @Test("the report says why metric names are missing when create fails with empty settings")
    func reportsCreateFailure() async throws {
        let inspection = await PluginInspection.inspect(path: try PluginFixtures.compiled().path("create_fails"))
        #expect(inspection.isLoadable)
        #expect(inspection.description.contains("the fixture needs the setting 'token'"))
    }

    @Test("a plugin whose create outlasts the inspection timeout is reported as timed out, not waited for")
    func reportsHungCreate() async throws {
        let inspection = await PluginInspection.inspect(
            path: try PluginFixtures.compiled().path("create_slow"), timeout: .milliseconds(100))
        guard case .failure(let error) = inspection.metricNames else {
            Issue.record("expected the metric names to be unavailable, got \(String(describing: inspection.metricNames))")
            return
        }
        #expect(error.code == .timedOut)
        #expect(inspection.description.contains("create did not return"))
    }
}

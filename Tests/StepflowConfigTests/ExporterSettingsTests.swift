import StepflowConfig
import StepflowCore
import Testing

/// `exporters.external_labels`, `exporters.otlp.headers` and `resource_attributes`: mappings of names to text
/// in YAML, `name=value,…` in the environment (docs/configuration.md).
@Suite("Exporter settings: external labels, OTLP headers and resource attributes")
struct ExporterSettingsTests {
    @Test("mappings are read from YAML; numbers and booleans as their text; empty values kept")
    func readsMappings() throws {
        let loaded = try ConfigurationLoader.parse(
            yaml: """
                exporters:
                  external_labels:
                    host: web-1
                    rack: 12
                  otlp:
                    headers: {Authorization: "Bearer abc", X-Scope-OrgID: tenant-1}
                    resource_attributes:
                      deployment.environment: prod
                      canary: true
                """, file: "config.yaml", environment: [:])
        #expect(loaded.exporters.externalLabels == ["host": "web-1", "rack": "12"])
        #expect(loaded.exporters.otlp.headers == ["Authorization": "Bearer abc", "X-Scope-OrgID": "tenant-1"])
        #expect(loaded.exporters.otlp.resourceAttributes == ["deployment.environment": "prod", "canary": "true"])
        #expect(loaded.exporters.externalLabels(hostname: "box") == [Label("host", "web-1"), Label("rack", "12")])
        #expect(ExportersConfig().externalLabels(hostname: "box") == [Label("host", "box")])
        var off = ExportersConfig()
        off.externalLabels = ["host": "", "dc": "eu"]
        #expect(off.externalLabels(hostname: "box") == [Label("dc", "eu")])
    }

    @Test("a label name that Prometheus refuses, a list, or a malformed variable is reported with where it is")
    func refusesBadValues() {
        let issues = parseIssues("""
            exporters:
              external_labels:
                bad-name: x
              otlp:
                headers:
                  X-List: [1, 2]
            """)
        let descriptions = issues.map(\.description)
        #expect(descriptions.count == 2, "\(descriptions)")
        #expect(descriptions.contains { $0.hasPrefix("config.yaml:3:") && $0.contains("'bad-name' is not a label name") },
                "\(descriptions)")
        #expect(descriptions.contains { $0.hasPrefix("config.yaml:6:") && $0.contains("exporters.otlp.headers.X-List: expected text") },
                "\(descriptions)")
        let environment = parseIssues("", environment: ["STEPFLOW_MONITORING_OTLP_HEADERS": "novalue"])
        #expect(environment.map(\.description) == [
            "$STEPFLOW_MONITORING_OTLP_HEADERS: exporters.otlp.headers: expected name=value pairs separated by commas "
                + "(for example host=web-1,region=eu), found 'novalue'; fix or unset the variable"
        ])
    }

    @Test("check-config never prints OTLP header values or Elasticsearch credentials")
    func secretsAreRedacted() throws {
        let loaded = try ConfigurationLoader.parse(
            yaml: """
                exporters:
                  elasticsearch:
                    password: hunter2
                    api_key: c2VjcmV0
                  otlp:
                    headers: {Authorization: "Bearer topsecret"}
                """, file: "config.yaml", environment: [:])
        let rendered = ConfigurationLoader.render(loaded)
        for secret in ["hunter2", "c2VjcmV0", "topsecret"] { #expect(!rendered.contains(secret)) }
        #expect(rendered.contains("Authorization"))
        #expect(rendered.contains("<redacted sha256:"))
    }

    @Test("the exporter plan lists what runs and warns, naming both keys, of what cannot have an effect")
    func exporterPlan() throws {
        let quiet = try ConfigurationLoader.parse(yaml: "plugins: []", file: "config.yaml", environment: [:])
        #expect(ExporterPlan.active(quiet).isEmpty)
        #expect(ExporterPlan.warnings(quiet).isEmpty)

        let mixed = try ConfigurationLoader.parse(
            yaml: """
                plugins: []
                metrics: {enable_export: true}
                logs: {enable_export: true}
                exporters:
                  elasticsearch: {enabled: true}
                  otlp: {enabled: true, metrics: false}
                """, file: "config.yaml", environment: [:])
        #expect(ExporterPlan.active(mixed).map { "\($0.exporter):\($0.kind)" } == [
            "elasticsearch:logs", "elasticsearch:metrics", "otlp:logs",
        ])
        #expect(ExporterPlan.warnings(mixed) == [
            "exporters.otlp.traces is true but tracing.enable_export is false: no traces are sent with OTLP"
        ])

        let orphan = try ConfigurationLoader.parse(
            yaml: "plugins: []\ntracing: {enable_export: true}\nmetrics: {enable_export: true}\nexporters: {elasticsearch: {enabled: false}}",
            file: "config.yaml", environment: [:])
        let warnings = ExporterPlan.warnings(orphan)
        #expect(warnings.contains { $0.hasPrefix("metrics.enable_export is true but no metrics exporter is enabled") })
        #expect(warnings.contains { $0.hasPrefix("tracing.enable_export is true but no trace exporter is enabled") })
    }

    @Test("an index name Elasticsearch would refuse is an error at load, not documents dropped one by one later")
    func indexNames() {
        for bad in ["Logs", "-logs", "_logs", "logs*", "a b", "..", "logs,other", String(repeating: "x", count: 256)] {
            let issues = parseIssues("exporters:\n  elasticsearch:\n    log_index: \"\(bad)\"\n")
            #expect(issues.count == 1, "\(bad)")
            #expect(issues.first?.description.contains("must be an Elasticsearch index name") == true, "\(issues)")
        }
        #expect(parseIssues("exporters:\n  elasticsearch:\n    traces_index: logs-app.default-2026\n").isEmpty)
    }

    @Test("an OTLP header that could not be sent (a bad name, a line break in the value) is an error at load")
    func headers() {
        let badName = parseIssues("exporters:\n  otlp:\n    headers: {\"X Tenant\": a}\n")
        #expect(badName.first?.description.contains("is not an HTTP header name") == true, "\(badName)")
        let injected = parseIssues("", environment: ["STEPFLOW_MONITORING_OTLP_HEADERS": "X-Tenant=a%0D%0AX-Admin:%20yes"])
        #expect(injected.first?.description.contains("holds a control character") == true, "\(injected)")
        #expect(parseIssues("exporters:\n  otlp:\n    headers: {Authorization: \"Bearer a.b-c\", X-Scope-OrgID: t1}\n").isEmpty)
        let apiKey = parseIssues("", environment: ["STEPFLOW_MONITORING_ELASTICSEARCH_API_KEY": "a2V5\r\nX-Admin: yes"])
        #expect(apiKey.first?.description.contains("exporters.elasticsearch.api_key") == true, "\(apiKey)")
    }
}

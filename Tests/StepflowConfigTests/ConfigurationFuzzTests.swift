@testable import StepflowConfig
import Foundation
import StepflowCore
import StepflowTestSupport
import Testing

/// Issue 11's fuzz suite, YAML surface: at least 10,000 generated and mutated configuration documents (and
/// environment overrides). The loader must return a configuration or issues that say where and what, never trap
/// or hang. `STEPFLOW_FUZZ_SEED` replays a run.
@Suite("Fuzzing the configuration loader")
struct ConfigurationFuzzTests {
    static let snippets = [
        "metrics:\n  collection_interval: 30s\n  retention_days: 7\n",
        "http:\n  port: 8080\n  address: 127.0.0.1\n  auth_token: t\n",
        "storage:\n  path: /tmp/x.sqlite\n  busy_timeout: 5s\n",
        "alerts:\n  rules:\n    - name: A\n      query: rate(x[5m])\n      condition: {greater_than: 1}\n      for: 1m\n",
        "alerts:\n  rules:\n    - name: B\n      query: count_logs{level=\"error\"}[5m]\n      condition: \"> 3 && < 10\"\n",
        "plugins:\n  - name: p\n    path: libx.so\n    interval: 10s\n    limits: {memory: 512MiB, cpu_time: 10s}\n    settings: {a: b}\n",
        "a: &a [1,2,3]\nb: &b [*a,*a,*a]\nc: &c [*b,*b,*b]\nd: [*c,*c,*c]\n",
        String(repeating: "[", count: 300) + String(repeating: "]", count: 300),
        "metrics:\n  histograms: {latency_seconds: [0.1, 1, 10]}\n  summary_quantiles: [0.5, 0.99]\n",
        "scheduler:\n  jitter: 1e300\n  max_backoff: 9223372036.999999999s\n",
        "logs:\n\tmax_log_size: 10\n",
        "? complex\n: key\n",
        "tracing: !!binary aGVsbG8=\n",
        "<<: {metrics: {retention_days: 1}}\n",
    ]

    static let variables = [
        "METRICS_COLLECTION_INTERVAL", "METRICS_RETENTION_DAYS", "HTTP_AUTH_TOKEN", "HTTP_ACKNOWLEDGE",
        "HEALTH_CHECK_HTTP_PORT", "METRICS_HISTOGRAM_BUCKETS", "TRACING_SAMPLING_RATE", "STORAGE_SYNCHRONOUS",
        "ALERTS_WEBHOOK_URL", "NOT_A_SETTING",
    ]

    @Test("10,000 mutated documents: a configuration, or issues that name where and what; never a trap")
    func fuzzYAML() throws {
        let full = try repositoryFile("config.yaml")
        let seed = fuzzSeed(default: 0x5EED_0012)
        var random = FuzzRandom(seed: seed)
        var accepted = 0
        var refused = 0
        for iteration in 0..<10_000 {
            let base = random.chance(0.05) ? full : random.pick(Self.snippets)
            var document = base
            for _ in 0..<Int.random(in: 0...3, using: &random) { document = FuzzMutator.mutate(document, &random) }
            var environment: [String: String] = [:]
            if random.chance(0.1) {
                environment["STEPFLOW_MONITORING_" + random.pick(Self.variables)] = FuzzCorpus.token(&random)
            }
            do {
                let configuration = try ConfigurationLoader.parse(
                    yaml: document, file: "fuzz.yaml", environment: environment, baseDirectory: Scratch.root)
                accepted += 1
                // What was accepted is within the documented ranges.
                #expect(configuration.metrics.collectionInterval > .zero, "seed \(seed), input \(iteration)")
                #expect(configuration.scheduler.maxBackoff <= AlertRule.longestDuration, "seed \(seed), input \(iteration)")
            } catch {
                refused += 1
                #expect(!error.issues.isEmpty, "seed \(seed), input \(iteration): an error without issues")
                for issue in error.issues {
                    #expect(!issue.message.isEmpty && (issue.file == "fuzz.yaml" || issue.environmentVariable != nil || issue.file != nil),
                            "seed \(seed), input \(iteration): \(issue)")
                }
            }
        }
        #expect(accepted > 500 && refused > 500, "accepted \(accepted), refused \(refused)")
    }
}

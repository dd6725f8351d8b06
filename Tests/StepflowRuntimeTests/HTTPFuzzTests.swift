import Foundation
import Logging
import StepflowConfig
import StepflowRuntime
import StepflowTestSupport
import Testing

/// Issue 11's fuzz suite, HTTP surface: at least 10,000 generated and mutated requests against every route of a
/// running host (query parameters and JSON bodies), seeded with every reproduction of the issue. The host must
/// never crash (this test's process is the host) and every answer must be 2xx, or a 4xx whose JSON body says what
/// is wrong. `STEPFLOW_FUZZ_SEED` replays a run.
@Suite("Fuzzing the HTTP API", .serialized)
struct HTTPFuzzTests {
    let logger = Logger(label: "http-fuzz")

    /// A JSON body with value slots (`§name`), each filled with its default or, at random, any JSON value.
    struct Template {
        let method: String
        let path: String
        let text: String
        let defaults: [String: String]

        func fill(_ random: inout FuzzRandom) -> String {
            var body = text
            for (slot, value) in defaults.sorted(by: { $0.key > $1.key }) {
                let chosen = random.chance(0.25) ? FuzzMutator.jsonValue(&random) : value
                body = body.replacingOccurrences(of: "§" + slot, with: chosen)
            }
            return random.chance(0.2) ? FuzzMutator.mutate(body, &random) : body
        }
    }

    static let templates: [Template] = [
        Template(method: "POST", path: "/api/v1/metrics", text: """
            {"metrics": [{"name": §name, "type": §type, "value": §value, "labels": §labels, "timestamp": §ts, "help": §help},
              {"name": "h", "type": "histogram", "sum": §sum, "count": §count, "buckets": §buckets},
              {"name": "s", "type": "summary", "sum": 1, "count": 2, "quantiles": §quantiles}]}
            """, defaults: [
                "name": "\"queue_depth\"", "type": "\"gauge\"", "value": "12", "labels": "{\"queue\": \"mail\"}",
                "ts": "null", "help": "\"Jobs waiting.\"", "sum": "3.5", "count": "4",
                "buckets": "[{\"le\": 0.5, \"count\": 1}, {\"le\": 1, \"count\": 3}]",
                "quantiles": "[{\"quantile\": 0.5, \"value\": 1}]",
            ]),
        Template(method: "POST", path: "/api/v1/logs", text: """
            {"logs": [{"level": §level, "message": §message, "component": §component, "module": "M", "function": "f()",
              "line": §line, "trace_id": §trace, "span_id": §span, "request_id": "r", "user_id": "u", "fields": §fields,
              "timestamp": §ts}]}
            """, defaults: [
                "level": "\"error\"", "message": "\"payment declined\"", "component": "\"billing\"", "line": "88",
                "trace": "\"4bf92f3577b34da6a3ce929d0e0e4736\"", "span": "\"00f067aa0ba902b7\"", "fields": "{\"amount\": 12.5}",
                "ts": "\"2026-12-01T10:00:00.250Z\"",
            ]),
        Template(method: "POST", path: "/api/v1/spans", text: """
            {"spans": [{"trace_id": §trace, "span_id": §span, "parent_span_id": §parent, "name": §name,
              "start_time": §start, "end_time": §end, "status": §status, "attributes": §attributes,
              "events": [{"name": "e", "timestamp": §event, "attributes": {}}]}]}
            """, defaults: [
                "trace": "\"4bf92f3577b34da6a3ce929d0e0e4736\"", "span": "\"00f067aa0ba902b7\"", "parent": "null",
                "name": "\"GET /checkout\"", "start": "1796119200005", "end": "1796119200030", "status": "\"ok\"",
                "attributes": "{\"http.method\": \"GET\"}", "event": "1796119200010",
            ]),
        Template(method: "POST", path: "/api/v1/rules", text: """
            {"name": §name, "query": §query, "condition": §condition, "for": §for, "evaluation_interval": §interval,
             "keep_firing_for": §keep, "severity": §severity, "labels": §labels, "annotations": §annotations}
            """, defaults: [
                "name": "\"QueueTooDeep\"", "query": "\"queue_depth\"", "condition": "{\"greater_than\": 100}",
                "for": "\"1m\"", "interval": "\"100ms\"", "keep": "null", "severity": "\"warning\"",
                "labels": "{\"team\": \"ops\"}", "annotations": "{\"summary\": \"{{ $labels.queue }} {{ $value }}\"}",
            ]),
        Template(method: "POST", path: "/api/v1/silences", text: """
            {"matchers": §matchers, "starts_at": §start, "ends_at": §end, "duration": §duration, "created_by": §by,
             "comment": §comment}
            """, defaults: [
                "matchers": "\"{alertname=\\\"QueueTooDeep\\\"}\"", "start": "null", "end": "null", "duration": "\"2h\"",
                "by": "\"ana\"", "comment": "\"migration\"",
            ]),
        Template(method: "POST", path: "/api/v1/alerts/§id/ack", text: #"{"user": §user, "message": §message}"#,
                 defaults: ["user": "\"ana\"", "message": "\"on it\""]),
    ]

    /// GET routes and the parameters they read.
    static let queries: [(path: String, parameters: [String])] = [
        ("/api/v1/metrics", ["match", "name", "prefix", "regex", "type", "label", "since", "until"]),
        ("/api/v1/metrics/query", ["match", "name", "start", "end", "mode", "limit"]),
        ("/api/v1/logs", ["since", "until", "level", "component", "module", "function", "trace_id", "request_id",
                          "contains", "limit", "cursor", "order"]),
        ("/api/v1/logs/stats", ["since", "until", "component", "level"]),
        ("/api/v1/logs/export", ["since", "until", "format", "level"]),
        ("/api/v1/traces", ["operation", "since", "until", "min_duration", "status", "limit"]),
        ("/api/v1/traces/stats", ["since", "until", "operation"]),
        ("/api/v1/traces/§id", []),
        ("/api/v1/rules", []), ("/api/v1/rules/§id", []), ("/api/v1/alerts", ["status", "rule", "since", "until", "severity"]),
        ("/api/v1/alerts/§id", []), ("/api/v1/silences", ["expired"]), ("/api/v1/plugins", []), ("/health", []),
        ("/health/§id", []), ("/metrics", []), ("/dashboard", []),
        ("/dashboard/metrics", ["q", "q", "range", "start", "end"]),
        ("/dashboard/logs", ["level", "component", "q", "trace_id", "cursor", "range", "start", "end"]),
        ("/dashboard/traces", ["operation", "min_duration", "status", "range", "start", "end"]),
        ("/dashboard/traces/§id", []), ("/dashboard/alerts", ["status", "severity", "rule", "done"]),
        ("/dashboard/silences/new", ["alert"]), ("/dashboard/rules", []),
    ]

    /// Every reproduction of issue 11 that one request made.
    static let reproductions: [(method: String, path: String, body: String)] = [
        ("GET", "/api/v1/logs?since=1e300", ""), ("GET", "/api/v1/logs?until=-1e300", ""),
        ("GET", "/api/v1/logs?since=1e17", ""), ("GET", "/api/v1/metrics/query?name=x&start=0&end=1e17", ""),
        ("GET", "/api/v1/metrics/query?name=x&start=0&end=1e300", ""), ("GET", "/api/v1/metrics/query?name=x&start=-1e17", ""),
        ("GET", "/api/v1/logs/stats?since=1e300", ""), ("GET", "/api/v1/logs/export?since=1e300", ""),
        ("GET", "/api/v1/traces?since=1e300", ""), ("GET", "/api/v1/traces?until=1e300", ""),
        ("GET", "/api/v1/traces/stats?since=1e300", ""),
        ("POST", "/api/v1/metrics", #"{"metrics": [{"name": "p", "type": "gauge", "value": 1, "timestamp": 9223372036854775807}]}"#),
        ("POST", "/api/v1/metrics", #"{"metrics": [{"name": "p", "type": "gauge", "value": 1, "timestamp": -9223372036854775808}]}"#),
        ("POST", "/api/v1/logs", #"{"logs": [{"level": "info", "message": "m", "timestamp": 9223372036854775807}]}"#),
        ("GET", "/api/v1/metrics?match=" + "rx{v=~\"(a+)+\"}".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!, ""),
        ("POST", "/api/v1/logs", #"{"logs": [{"level": "info", "message": "m", "fields": "# + String(repeating: #"{"a":"#, count: 500) + "1" + String(repeating: "}", count: 500) + "}]}"),
        ("POST", "/api/v1/silences", #"{"matchers": "{alertname=\"x\"}", "duration": "2h", "created_by": "a", "comment": ""# + String(repeating: "c", count: 10_000) + "\"}"),
        ("POST", "/api/v1/rules", #"{"name": "d", "query": "rate(x[99999999999w])", "condition": {"greater_than": 0}}"#),
        ("POST", "/api/v1/rules", #"{"name": "e", "query": "x", "condition": {"greater_than": 0}, "for": "1e300"}"#),
        ("POST", "/api/v1/rules", #"{"name": "f", "query": ""# + String(repeating: "(", count: 200_000) + "\"}"),
    ]

    static func encode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
    }

    static func request(_ random: inout FuzzRandom, ids: [String]) -> (method: String, path: String, body: String) {
        let id = random.chance(0.5) && !ids.isEmpty ? random.pick(ids) : encode(FuzzCorpus.token(&random))
        if random.chance(0.5) {
            let template = random.pick(templates)
            return (template.method, template.path.replacingOccurrences(of: "§id", with: id), template.fill(&random))
        }
        let route = random.pick(queries)
        var parameters: [String] = []
        for name in route.parameters where random.chance(0.4) {
            let value = random.chance(0.7) ? FuzzCorpus.token(&random) : FuzzMutator.mutate(FuzzCorpus.token(&random), &random)
            parameters.append(name + "=" + encode(value))
        }
        if random.chance(0.1) { parameters.append(encode(FuzzCorpus.token(&random)) + "=" + encode(FuzzCorpus.token(&random))) }
        let path = route.path.replacingOccurrences(of: "§id", with: id)
        return ("GET", parameters.isEmpty ? path : path + "?" + parameters.joined(separator: "&"), "")
    }

    @Test("10,000 generated and mutated requests: no crash, and every answer is 2xx or a 4xx that says what is wrong")
    func fuzzHTTP() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write("config.yaml", """
            storage:
              path: \(directory.file("monitoring.sqlite"))
            http:
              port: 0
              max_body_size: 262144
              commit_timeout: 2s
            metrics:
              flush_interval: 50ms
            logs:
              flush_interval: 50ms
            alerts:
              evaluation_interval: 200ms
            plugins: []
            """)
        let runtime = try await MonitoringRuntime(loaded: ConfigurationLoader.load(path: path, environment: [:]), logger: logger)
        let seed = fuzzSeed(default: 0x5EED_0011)
        try await whileRunning(runtime, logger: logger) {
            let port = await runtime.boundAddress.waitForPort()
            let ids = ["00000000-0000-0000-0000-000000000000", "4bf92f3577b34da6a3ce929d0e0e4736", "storage"]
            let workers = 4
            let perWorker = 2_500
            let (failures, statuses) = await withTaskGroup(of: ([String], [Int: Int]).self) { group in
                for worker in 0..<workers {
                    // Each worker blocks on its sockets on a thread of its own, not on the cooperative pool the
                    // in-process host serves with.
                    group.addTask {
                        let work: @Sendable () -> ([String], [Int: Int]) = {
                            Self.worker(port: port, seed: seed &+ UInt64(worker), count: perWorker, ids: ids, reproduce: worker == 0)
                        }
                        return (try? await offPool(work)) ?? (["worker \(worker) failed"], [:])
                    }
                }
                var all: ([String], [Int: Int]) = ([], [:])
                for await (failures, statuses) in group {
                    all.0 += failures
                    all.1.merge(statuses, uniquingKeysWith: +)
                }
                return all
            }
            // The inputs reach both sides: accepted ones and refused ones.
            #expect(statuses.values.reduce(0, +) >= 10_000)
            #expect(statuses.filter { (200..<300).contains($0.key) }.values.reduce(0, +) > 1000, "\(statuses)")
            #expect(statuses[400, default: 0] > 1000, "\(statuses)")
            print("HTTP fuzz, seed \(seed): answers by status \(statuses.sorted { $0.key < $1.key })")
            #expect(failures.isEmpty, "seed \(seed): \(failures.count) bad answers, e.g.\n\(failures.prefix(10).joined(separator: "\n"))")
            let live = try await rawRequest(port, "GET", "/health/live")
            #expect(live.status == 200)
        }
    }

    /// What a fuzz run saw: the answers by status, and the bad ones.
    struct FuzzOutcome {
        var failures: [String] = []
        var statuses: [Int: Int] = [:]
    }

    /// An ingest fuzz's host: answers once queued, and no write rate limit (10,000 requests from one address in
    /// seconds are the point).
    static let ingestFuzzYAML = """
        http:
          port: 0
          acknowledge: queued
        security:
          rate_limit: 1000000
          rate_limit_burst: 1000000
        plugins: []
        """

    /// Sends `workers × perWorker` requests, each worker blocking on its sockets on a thread of its own (not on the
    /// cooperative pool the in-process host serves with). `send` makes and sends one request with the worker's
    /// random source, and returns the answer's status and, for a bad answer, what was wrong.
    static func fuzz(
        workers: Int = 2, perWorker: Int = 5_000, seed: UInt64,
        _ send: @escaping @Sendable (inout FuzzRandom) -> (status: Int, failure: String?)
    ) async -> FuzzOutcome {
        await withTaskGroup(of: FuzzOutcome.self) { group in
            for worker in 0..<workers {
                group.addTask {
                    let work: @Sendable () -> FuzzOutcome = {
                        var random = FuzzRandom(seed: seed &+ UInt64(worker))
                        var outcome = FuzzOutcome()
                        for _ in 0..<perWorker {
                            let answer = send(&random)
                            outcome.statuses[answer.status, default: 0] += 1
                            if let failure = answer.failure { outcome.failures.append(failure) }
                        }
                        return outcome
                    }
                    return (try? await offPool(work)) ?? FuzzOutcome(failures: ["worker \(worker) failed"])
                }
            }
            var all = FuzzOutcome()
            for await outcome in group {
                all.failures += outcome.failures
                all.statuses.merge(outcome.statuses, uniquingKeysWith: +)
            }
            return all
        }
    }

    /// Checks a fuzz run of `count` requests to `path`: every one answered, both sides reached (`accepted`
    /// answers of 2xx, `refused` of 400, at least), no bad answer.
    static func check(
        _ outcome: FuzzOutcome, path: String, seed: UInt64, count: Int, accepted: Int, refused: Int,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let statuses = outcome.statuses
        print("fuzz \(path), seed \(seed): answers by status \(statuses.sorted { $0.key < $1.key })")
        #expect(statuses.values.reduce(0, +) == count, sourceLocation: sourceLocation)
        #expect(statuses.filter { (200..<300).contains($0.key) }.values.reduce(0, +) > accepted, "\(path): \(statuses)", sourceLocation: sourceLocation)
        #expect(statuses[400, default: 0] > refused, "\(path): \(statuses)", sourceLocation: sourceLocation)
        #expect(
            outcome.failures.isEmpty,
            "\(path), seed \(seed): \(outcome.failures.count) bad answers, e.g.\n\(outcome.failures.prefix(10).joined(separator: "\n"))",
            sourceLocation: sourceLocation)
    }

    @Test("10,000 mutated bodies to each JSON ingest path: no crash, every answer 2xx or a 4xx that says why")
    func fuzzIngestPaths() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let seed = fuzzSeed(default: 0x5EED_0164)
        try await withHost(directory, Self.ingestFuzzYAML, logger: logger) { runtime in
            let port = await runtime.boundAddress.waitForPort()
            for (offset, template) in Self.templates.prefix(3).enumerated() {
                let outcome = await Self.fuzz(seed: seed &+ UInt64(offset * 4)) { random in
                    var body = template.fill(&random)
                    if random.chance(0.5) { body = FuzzMutator.mutate(body, &random) }
                    guard let answer = try? blockingRawRequest(
                        port, "POST", template.path, headers: ["Content-Type": "application/json"], body: body)
                    else { return (0, "no answer to \(body.prefix(200))") }
                    let explained = answer.body.contains("\"error\"")
                    let fine = (200..<300).contains(answer.status) || ((400..<500).contains(answer.status) && explained)
                    return (answer.status, fine ? nil : "\(body.prefix(200)) → \(answer.status) \(answer.body.prefix(300))")
                }
                Self.check(outcome, path: template.path, seed: seed, count: 10_000, accepted: 100, refused: 1000)
            }
            let live = try await rawRequest(port, "GET", "/health/live")
            #expect(live.status == 200)
        }
    }

    /// Sends `count` generated requests (after the reproductions, when `reproduce`) and returns the bad answers.
    static func worker(port: Int, seed: UInt64, count: Int, ids: [String], reproduce: Bool) -> (failures: [String], statuses: [Int: Int]) {
        var random = FuzzRandom(seed: seed)
        var failures: [String] = []
        var statuses: [Int: Int] = [:]
        let inputs = (reproduce ? Self.reproductions : [])
            + (0..<count).map { _ in Self.request(&random, ids: ids) }
        for input in inputs {
            let headers = input.method == "GET" ? [:] : ["Content-Type": "application/json"]
            guard let answer = try? blockingRawRequest(port, input.method, input.path, headers: headers, body: input.body) else {
                failures.append("no answer to \(input.method) \(input.path.prefix(200))")
                continue
            }
            statuses[answer.status, default: 0] += 1
            let clientError = (400..<500).contains(answer.status)
            // The API explains in JSON; a dashboard page in its alert box.
            let explained = answer.body.contains("\"error\"") || answer.body.contains("role=\"alert\"")
                || [404, 405].contains(answer.status)
            if !((200..<300).contains(answer.status) || (clientError && explained)) {
                failures.append("\(input.method) \(input.path.prefix(200)) \(input.body.prefix(200)) → "
                    + "\(answer.status) \(answer.body.prefix(300))")
            }
        }
        return (failures, statuses)
    }
}

import Foundation
import StepflowCore
import StepflowTestSupport
import Testing

/// Issue 11's fuzz suite, alert query language: at least 10,000 generated and mutated queries and conditions,
/// each parsed, compiled into a rule, and (when it parses) evaluated over a real database and engine, its
/// condition applied to every series. Nothing may trap or hang; a refusal says what is wrong.
@Suite("Fuzzing the alert query language")
struct AlertQueryFuzzTests {
    static let queries = [
        "queue_depth", "queue_depth{queue=\"mail\"}", "rate(requests_total[5m])", "increase(requests_total{job=~\"a.*\"}[1h])",
        "sum by (job) (rate(requests_total[1m]))", "avg(queue_depth)", "count by (queue) (queue_depth)",
        "max_over_time(queue_depth[10m])", "quantile_over_time(0.9, queue_depth[10m])", "min_over_time(queue_depth[99999999999w])",
        "count_logs{level=\"error\", component=~\"b.*\"}[5m]", "last_log_message{component=\"billing\"}[1h]",
        "health(\"storage\")", "health()", "rx{v=~\"(a+)+\"}", "{__name__=~\".+\"}", "x[5m]", "sum(x", "rate(x[5m]",
        String(repeating: "(", count: 150) + "x" + String(repeating: ")", count: 150),
    ]

    static let conditions = [
        "value > 0.9", "value > 0.9 && labels.env == \"prod\"", "value * 100 >= 95 and not (labels.instance =~ \"canary-.*\")",
        "value != \"healthy\"", "value =~ \"(a+)+b\"", "value / 0 > 1", "-value < -1e308", "labels.x + 1",
        String(repeating: "!", count: 500) + "true", "(((value)))", "value > \"x\"",
    ]

    @Test("10,000 queries and conditions: parsed, compiled and evaluated, or refused with a reason; never a trap")
    func fuzzQueries() async throws {
        let fixture = try AlertDataFixture()
        defer { fixture.remove() }
        try await fixture.store("queue_depth", [Label("queue", "mail")], [.gauge(1), .gauge(150), .gauge(.nan)])
        try await fixture.store("requests_total", [Label("job", "api")], [.counter(1), .counter(5), .counter(3)])
        _ = fixture.engine.record([Metric(name: "rx", value: .gauge(1), labels: [Label("v", String(repeating: "a", count: 30) + "!")],
                                          timestamp: fixture.now)])
        let seed = fuzzSeed(default: 0x5EED_0013)
        var random = FuzzRandom(seed: seed)
        var evaluated = 0
        var refused = 0
        for iteration in 0..<10_000 {
            var query = random.pick(Self.queries)
            for _ in 0..<Int.random(in: 0...2, using: &random) { query = FuzzMutator.mutate(query, &random) }
            var conditionText = random.pick(Self.conditions)
            if random.chance(0.5) { conditionText = FuzzMutator.mutate(conditionText, &random) }
            let condition: AlertCondition = random.chance(0.5)
                ? .custom(conditionText) : random.pick([.greaterThan(1), .lessThan(.nan), .contains("x"), .equal(.infinity)])
            let rule = AlertRule(
                name: "fuzz", query: query, condition: condition,
                forDuration: random.chance(0.1) ? .seconds(Int64.random(in: .min ... .max, using: &random)) : nil)
            do {
                let validated = try rule.validated()
                let series = try await fixture.evaluator.evaluate(validated.query, at: fixture.now)
                for item in series { _ = validated.condition.holds(for: item) }
                evaluated += 1
            } catch {
                refused += 1
                #expect(!error.message.isEmpty, "seed \(seed), input \(iteration): \(query)")
            }
        }
        #expect(evaluated > 500 && refused > 500, "evaluated \(evaluated), refused \(refused)")
    }
}

import StepflowAlerting
import StepflowCore
import Testing

@Suite("The alert query language: parsing")
struct AlertQueryParserTests {
    func parse(_ text: String) throws -> AlertQuery { try AlertQuery.parse(text) }

    func parseError(_ text: String) -> String {
        do {
            _ = try AlertQuery.parse(text)
            return "parsed"
        } catch {
            #expect(error.code == .invalidQuery)
            return error.message
        }
    }

    @Test("range functions, aggregations, log and health terms parse into their trees")
    func shapes() throws {
        let errors = try MetricSelector.parse(#"http_requests_total{code=~"5..",job="api"}"#)
        #expect(try parse(#"rate(http_requests_total{code=~"5..", job="api"}[5m])"#)
            == .range(.rate, RangeSelector(errors, range: .seconds(300))))
        let byJob = try parse("sum by (job) (rate(x_total[1m]))")
        #expect(byJob == .aggregate(.sum, by: ["job"], .range(.rate, RangeSelector(try MetricSelector.parse("x_total"), range: .seconds(60)))))
        #expect(try parse("sum(rate(x_total[1m])) by (job)") == byJob)
        #expect(try parse("quantile_over_time(0.99, latency_seconds[1h30m])")
            == .range(.quantileOverTime(0.99), RangeSelector(try MetricSelector.parse("latency_seconds"), range: .seconds(5400))))
        guard case .logCount(let selector, let range, let by) = try parse(
            #"count_logs by (component) ({level>="error", message=~".*timeout.*"}[5m])"#)
        else {
            Issue.record("not a log count")
            return
        }
        #expect(selector.levels == [.error, .fatal])
        #expect(selector.matchers.map(\.description) == [#"message=~".*timeout.*""#])
        #expect(range == .seconds(300))
        #expect(by == ["component"])
        #expect(try parse(#"last_log_message({component="db", level!="debug"}[15m])"#).valueType == .text)
        #expect(try parse(#"health("storage")"#) == .health(component: "storage"))
        #expect(try parse("health()") == .health(component: nil))
        #expect(try parse("node_load1") == .instant(try MetricSelector.parse("node_load1")))
    }

    @Test("arithmetic keeps precedence, folds constants and reads back from its description")
    func arithmeticAndRoundTrip() throws {
        let ratio = try parse("sum(rate(errors_total[5m])) / sum(rate(requests_total[5m])) * 100")
        guard case .binary(.multiply, .binary(.divide, _, _), .number(100)) = ratio else {
            Issue.record("unexpected tree \(ratio)")
            return
        }
        #expect(try parse("2 * 3 + 1") == .number(7))
        #expect(try parse("-(1 - 3)") == .number(2))
        for text in [
            #"rate(http_requests_total{code=~"5.."}[5m])"#, "sum by (job, instance) (increase(x_total[1h]))",
            "quantile_over_time(0.5, y[10m])", #"count_logs by (component) ({level>="warn"}[5m])"#,
            #"last_log_message({component="db"}[1m])"#, #"health("plugin:fs")"#, "health()",
            "avg(node_load1) - 0.5", "max_over_time(temp_celsius[2d])", "count(up) / 2",
        ] {
            let query = try parse(text)
            #expect(try parse(query.description) == query, "\(text) → \(query)")
        }
    }

    @Test("names that are functions elsewhere are metrics when no call follows; Info is not Inf")
    func namesAndKeywords() throws {
        #expect(try parse("rate") == .instant(try MetricSelector.parse("rate")))
        #expect(try parse("sum_total") == .instant(try MetricSelector.parse("sum_total")))
        #expect(try parse("Info_metric") == .instant(try MetricSelector.parse("Info_metric")))
        guard case .number(let nan) = try parse("NaN") else {
            Issue.record("NaN is not a number literal")
            return
        }
        #expect(nan.isNaN)
        #expect(try parse("Inf + 1") == .number(.infinity))
    }

    @Test("nesting past 100 levels is an error, not a stack overflow; shallower nesting parses")
    func deepQueries() throws {
        let deep = 200_000
        #expect(parseError(String(repeating: "(", count: deep) + "x").contains("nests deeper than 100 levels"))
        #expect(parseError(String(repeating: "-", count: deep) + "1").contains("nests deeper than 100 levels"))
        #expect(parseError(String(repeating: "sum(", count: deep) + "x").contains("nests deeper than 100 levels"))
        _ = try parse(String(repeating: "(", count: 90) + "x" + String(repeating: ")", count: 90))
    }

    @Test("errors give the column and what was expected")
    func errors() {
        #expect(parseError("ratee(x[5m])").contains("at column 1"))
        #expect(parseError("ratee(x[5m])").contains("unknown function 'ratee'"))
        #expect(parseError("rate(x)").contains("needs a range after its selector"))
        #expect(parseError("rate(x[5q])").contains("expected a duration unit"))
        #expect(parseError("rate(x[0s])").contains("longer than 0"))
        #expect(parseError("sum(rate(x[5m])").contains("expected ')'"))
        #expect(parseError("quantile_over_time(1.5, x[5m])").contains("from 0 to 1"))
        #expect(parseError(#"count_logs({level>="loud"}[5m])"#).contains("unknown log level \"loud\""))
        #expect(parseError(#"count_logs({colour="red"}[5m])"#).contains("unknown log field 'colour'"))
        #expect(parseError(#"count_logs by (colour) ({}[5m])"#).contains("cannot be grouped by 'colour'"))
        #expect(parseError(#"count_logs({component>="a"}[5m])"#).contains("compares levels only"))
        #expect(parseError("health() + 1").contains("needs numbers on both sides"))
        #expect(parseError("sum(health())").contains("needs numbers"))
        #expect(parseError("{}").contains("needs a metric name or a matcher"))
        #expect(parseError("x y").contains("at column 3"))
        #expect(parseError(#"x{job=~"("}"#).contains("regex"))
    }
}

@Suite("Alert conditions")
struct AlertConditionTests {
    let prod = QuerySeries(labels: [Label("env", "prod"), Label("job", "api")], value: .number(0.95))
    let dev = QuerySeries(labels: [Label("env", "dev")], value: .number(0.95))

    func condition(_ text: String, _ type: QueryValueType = .number) throws -> ConditionExpression {
        try ConditionExpression.parse(text, valueType: type)
    }

    func conditionError(_ text: String, _ type: QueryValueType = .number) -> String {
        do {
            _ = try ConditionExpression.parse(text, valueType: type)
            return "parsed"
        } catch {
            #expect(error.code == .invalidAlertCondition)
            return error.message
        }
    }

    @Test("custom expressions read value and labels, with and/or/not, arithmetic and anchored regexes")
    func customExpressions() throws {
        let both = try condition(#"value > 0.9 && labels.env == "prod""#)
        #expect(both.holds(for: prod))
        #expect(!both.holds(for: dev))
        #expect(try condition(#"value * 100 >= 95 and not ($labels.env =~ "de.*")"#).holds(for: prod))
        #expect(!(try condition(#"value * 100 >= 95 and not ($labels.env =~ "de.*")"#).holds(for: dev)))
        #expect(try condition(#"labels.missing == "" || value < 0"#).holds(for: prod))
        #expect(try condition(#"labels.job !~ "ap""#).holds(for: prod))  // anchored: "ap" does not match "api"
        let health = QuerySeries(labels: [Label("component", "storage")], value: .text("degraded"))
        #expect(try condition(#"value != "healthy""#, .text).holds(for: health))
        let nan = QuerySeries(labels: [], value: .number(.nan))
        #expect(!(try condition("value > 1 || value <= 1").holds(for: nan)))
        #expect(try condition("value != value").holds(for: nan))
    }

    @Test("nesting past 100 levels is an error, not a stack overflow; shallower nesting parses")
    func deepConditions() throws {
        let deep = 200_000
        #expect(conditionError(String(repeating: "!", count: deep) + "true").contains("nests deeper than 100 levels"))
        #expect(conditionError(String(repeating: "(", count: deep) + "value").contains("nests deeper than 100 levels"))
        #expect(conditionError(String(repeating: "-", count: deep) + "value > 0").contains("nests deeper than 100 levels"))
        _ = try condition(String(repeating: "(", count: 40) + "value > 1" + String(repeating: ")", count: 40))
    }

    @Test("type mistakes and unknown names are refused when the condition is parsed")
    func typeErrors() {
        #expect(conditionError(#"value > "x""#).contains("compares a number with a text"))
        #expect(conditionError("value > 1", .text).contains("compares a text with a number"))
        #expect(conditionError("value + 1").contains("must be true or false"))
        #expect(conditionError("val > 1").contains("unknown name 'val'"))
        #expect(conditionError("value = 1").contains("write =="))
        #expect(conditionError("labels.env > 3").contains("compares a text with a number"))
        #expect(conditionError("value > 1 &&").contains("expected value"))
        #expect(conditionError(#"labels.env =~ "[""#).contains("regex"))
    }

    @Test("the spec's conditions fit only queries of their type")
    func specConditions() throws {
        #expect(try AlertCondition.greaterThan(0.9).compiled(for: .number).holds(for: prod))
        #expect(!(try AlertCondition.lessThan(0.9).compiled(for: .number).holds(for: prod)))
        #expect(try AlertCondition.notEqual(1).compiled(for: .number).holds(for: QuerySeries(labels: [], value: .number(.nan))))
        let message = QuerySeries(labels: [], value: .text("upstream timeout after 30s"))
        #expect(try AlertCondition.contains("timeout").compiled(for: .text).holds(for: message))
        #expect(!(try AlertCondition.notContains("timeout").compiled(for: .text).holds(for: message)))
        #expect(throws: MonitoringError.self) { try AlertCondition.contains("x").compiled(for: .number) }
        #expect(throws: MonitoringError.self) { try AlertCondition.greaterThan(1).compiled(for: .text) }
        #expect(throws: MonitoringError.self) { try AlertCondition.custom("value >").compiled(for: .number) }
    }
}

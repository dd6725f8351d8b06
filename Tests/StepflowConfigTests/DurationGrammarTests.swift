@testable import StepflowConfig
import Testing

@Suite("Duration grammar")
struct DurationGrammarTests {
    @Test("units, compound durations and plain seconds are read exactly", arguments: [
        ("30s", Duration.seconds(30)),
        ("5m", .seconds(300)),
        ("1h", .seconds(3600)),
        ("500ms", .milliseconds(500)),
        ("1h30m", .seconds(5400)),
        ("2m30s", .seconds(150)),
        ("1.5s", .milliseconds(1500)),
        ("250us", .microseconds(250)),
        ("10ns", .nanoseconds(10)),
        ("60", .seconds(60)),
        ("0.25", .milliseconds(250)),
        (" 45s ", .seconds(45)),
    ])
    func parsesValidDurations(_ text: String, _ expected: Duration) {
        #expect(DurationParser.parse(text) == .success(expected))
    }

    @Test("text that is not a duration is malformed", arguments: [
        "", "s", "ten seconds", "10 s", "1d", "1.2.3s", "5m3", "h1", "--5s", "1e3", ".",
    ])
    func rejectsMalformed(_ text: String) {
        #expect(DurationParser.parse(text) == .failure(.malformed))
    }

    @Test("a duration past what a Duration of nanoseconds holds is too large")
    func rejectsTooLarge() {
        #expect(DurationParser.parse("9999999999999h") == .failure(.tooLarge))
        #expect(DurationParser.parse("99999999999999999999") == .failure(.tooLarge))
        // A whole part that just fits, plus a fraction that overflows: refused, not a trap.
        #expect(DurationParser.parse("9223372036.999999999s") == .failure(.tooLarge))
        #expect(DurationParser.parse("9223372036.999999999") == .failure(.tooLarge))
    }

    @Test("a duration longer than ten years is too large, so no interval overflows the clock")
    func rejectsPastTenYears() {
        #expect(DurationParser.parse("87840h") == .success(.seconds(87840 * 3600)))
        #expect(DurationParser.parse("87841h") == .failure(.tooLarge))
        #expect(DurationParser.parse("-87841h") == .failure(.tooLarge))
    }

    @Test("a negative duration parses, so that the range check can name it")
    func negativeParses() {
        #expect(DurationParser.parse("-1h30m") == .success(.seconds(-5400)))
    }

    @Test("formatting picks the shortest spelling, and it reads back to the same duration", arguments: [
        (Duration.seconds(60), "1m"),
        (.seconds(5400), "1h30m"),
        (.milliseconds(1500), "1s500ms"),
        (.seconds(0), "0s"),
        (.nanoseconds(1_000_001), "1ms1ns"),
        (.seconds(-90), "-1m30s"),
    ])
    func formatsAndRoundTrips(_ duration: Duration, _ text: String) {
        #expect(DurationParser.format(duration) == text)
        #expect(DurationParser.parse(text) == .success(duration))
    }

    @Test("YAML integers and decimals are seconds, in a file as in a variable")
    func yamlNumbersAreSeconds() throws {
        let configuration = try ConfigurationLoader.parse(
            yaml: "health:\n  check_interval: 90\n  check_timeout: 2.5\n", file: "c.yaml", environment: [:])
        #expect(configuration.health.checkInterval == .seconds(90))
        #expect(configuration.health.checkTimeout == .milliseconds(2500))
    }
}

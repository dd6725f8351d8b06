import Foundation
import StepflowCore
import StepflowIngest
@testable import StepflowServer
import StepflowTestSupport
import Testing

/// The fast JSON reader of `POST /api/v1/metrics` against the general decoder: on every body the fast reader
/// takes, both must read the same samples, and the fast reader must leave every body with an error to the general
/// one (which names it). Bodies are generated from fields that have tripped JSON readers: signed zeros, integral
/// doubles, exponents, long integers, escapes, non-ASCII, duplicate keys, nulls, wrong types.
@Suite("The fast ingest JSON reader")
struct MetricIngestJSONTests {
    static let now = Date(timeIntervalSince1970: 1_796_119_200.123)

    static let names = [#""queue_depth""#, #""jobs_total""#, #""bad-name""#, #""tëmp""#, #""q\"x""#, #""""#, "7", "null"]
    static let types = [#""gauge""#, #""counter""#, #""histogram""#, #""summary""#, #""bogus""#, "1"]
    static let numbers = [
        "12", "-0", "-0.0", "0.0", "1.5", "1.0", "1e3", "2E-2", "12345678901234567890", "9007199254740993",
        "0.1", "-7", "01", "+1", ".5", "1.", #""NaN""#, #""+Inf""#, #""Inf""#, #""-Inf""#, #""12""#, "null", "true",
        "123456789012345678901234567",
    ]
    static let labels = [
        "{}", #"{"a": "1", "b": "2"}"#, #"{"b": "x", "a": "y"}"#, #"{"a": "1", "a": "2"}"#, #"{"é": "1"}"#,
        #"{"a": "é"}"#, #"{"a": 1}"#, "null", #""x""#, #"{"a": "\u0041"}"#, #"{"instance": "10.0.0.1:9100", "job": "node"}"#,
    ]
    static let timestamps = [
        "1796119200000", #""2026-12-01T10:00:00Z""#, "-5", "1.5", "null", "99999999999999999", "0", "253402300799999",
        "253402300800000", "1796119200000.0",
    ]
    static let counts = ["4", "0", "-1", "4.0", "1e1", "null", #""4""#]
    static let buckets = [
        #"[{"le": 0.5, "count": 1}, {"le": 1, "count": 3}]"#, #"[{"le": "+Inf", "count": 4}]"#,
        #"[{"le": "+Inf", "count": 3}]"#, "[]", "null", #"[{"le": 1}]"#, #"[{"le": 1, "count": 1, "x": 2}]"#,
        #"[{"count": 2, "le": 0.25}]"#,
    ]
    static let quantiles = [
        #"[{"quantile": 0.5, "value": 1}]"#, #"[{"quantile": 2, "value": "NaN"}]"#, "[]", "null",
        #"[{"value": 3, "quantile": 0.9}]"#,
    ]

    static func item(_ random: inout FuzzRandom) -> String {
        var fields: [String] = []
        // The first value of each list is a valid one; it is taken most of the time, so that many bodies are
        // valid throughout and reach the fast reader.
        func maybe(_ key: String, _ values: [String], _ p: Double) {
            guard random.chance(p) else { return }
            fields.append("\"\(key)\": \(random.chance(0.6) ? values[0] : random.pick(values))")
        }
        maybe("name", names, 0.95)
        let type = random.chance(0.9) ? random.pick(Array(types.prefix(4))) : random.pick(types)
        if random.chance(0.95) { fields.append("\"type\": \(type)") }
        if type == #""histogram""# || type == #""summary""# {
            maybe("sum", numbers, 0.9)
            maybe("count", counts, 0.9)
            maybe(type == #""histogram""# ? "buckets" : "quantiles", type == #""histogram""# ? buckets : quantiles, 0.8)
            maybe("value", numbers, 0.05)
        } else {
            maybe("value", numbers, 0.95)
            maybe("sum", numbers, 0.03)
        }
        maybe("labels", labels, 0.7)
        maybe("timestamp", timestamps, 0.5)
        maybe("help", [#""Jobs waiting.""#, "null", "5", #""é""#], 0.3)
        if random.chance(0.01) { fields.append(#""extra": 1"#) }
        if random.chance(0.01), let first = fields.first { fields.append(first) }
        fields.shuffle(using: &random)
        let separator = random.chance(0.2) ? " ,\n " : ", "
        return "{" + fields.joined(separator: separator) + "}"
    }

    static func body(_ random: inout FuzzRandom) -> String {
        let items = (0..<Int.random(in: 0...4, using: &random)).map { _ in item(&random) }
        var text = #"{"metrics": ["# + items.joined(separator: ", ") + "]}"
        if random.chance(0.03) { text = FuzzMutator.mutate(text, &random) }
        if random.chance(0.01) { text += " x" }
        return text
    }

    @Test("on 20,000 generated bodies, the fast reader agrees with the general decoder or leaves the body to it")
    func agreesWithTheGeneralDecoder() throws {
        var random = FuzzRandom(seed: fuzzSeed(default: 0x5EED_0160))
        var taken = 0
        var takenWithItems = 0
        for _ in 0..<20_000 {
            let text = Self.body(&random)
            let bytes = Array(text.utf8)
            let fast = bytes.withUnsafeBytes { MetricIngestJSON.decode($0, now: Self.now.unixMilliseconds) }
            guard let fast else { continue }
            taken += 1
            if !fast.isEmpty { takenWithItems += 1 }
            let slow = try MetricJSON.ingest(bytes, now: Self.now)
            #expect(slow.errors.isEmpty, "the fast reader took a body the general decoder refuses: \(text) → \(slow.errors.map(\.message))")
            let expected = MetricBatch(slow.metrics.map(\.metric)).map { "\($0)" }
            #expect(fast.map { "\($0)" } == expected, "\(text)")
        }
        // Both readers see work: the fast one takes a good share of bodies with items.
        #expect(takenWithItems > 1_000, "\(taken) taken, \(takenWithItems) with items")
    }

    @Test("a body in the common form becomes the batch it says, labels sorted, timestamps in milliseconds")
    func commonForm() throws {
        let text = """
            {"metrics": [
              {"name": "queue_depth", "type": "gauge", "value": 3, "labels": {"queue": "mail", "host": "a"}, "help": "Jobs waiting."},
              {"name": "jobs_total", "type": "counter", "value": 1.5, "timestamp": 1796119200000},
              {"name": "latency", "type": "histogram", "sum": 2.5, "count": 4,
               "buckets": [{"le": 0.5, "count": 1}, {"le": 1, "count": 3}, {"le": "+Inf", "count": 4}]}
            ]}
            """
        let batch = try #require(Array(text.utf8).withUnsafeBytes { MetricIngestJSON.decode($0, now: Self.now.unixMilliseconds) })
        #expect(batch.count == 3)
        #expect(batch[0].labels == [Label("host", "a"), Label("queue", "mail")])
        #expect(batch[0].metadata["help"] == .string("Jobs waiting."))
        #expect(batch[0].timestamp.unixMilliseconds == Self.now.unixMilliseconds)
        #expect(batch[1].value == .counter(1.5))
        #expect(batch[1].timestamp.unixMilliseconds == 1_796_119_200_000)
        #expect(batch[2].value == .histogram(HistogramValue(
            sum: 2.5, count: 4, buckets: [HistogramBucket(upperBound: 0.5, count: 1), HistogramBucket(upperBound: 1, count: 3)])))
    }
}

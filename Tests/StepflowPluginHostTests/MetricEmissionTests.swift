import Foundation
import StepflowCore
import StepflowPluginHost
import Testing

@Suite("Validating the samples a plugin emits")
struct MetricEmissionTests {
    private func instance(mode: String) async throws -> PluginInstance {
        let library = try PluginLibrary.load(path: PluginFixtures.compiled().path("valid"))
        return try await PluginInstance(library: library, settings: ["mode": .string(mode)])
    }

    @Test(
        "an invalid sample is refused and counted by reason while the valid one in the same call is kept",
        arguments: [
            ("infinite_counter", MetricRefusalReason.invalidCounterValue),
            ("negative_counter", .invalidCounterValue),
            ("bad_name", .invalidMetricName),
            ("empty_name", .emptyName),
            ("invalid_utf8", .invalidUTF8),
            ("bad_label", .invalidLabelName),
            ("duplicate_label", .duplicateLabelName),
            ("descending_buckets", .invalidHistogram),
            ("unknown_type", .unknownType),
            ("null_labels", .nullPointer),
            ("nan_counter", .invalidCounterValue),
            ("long_name", .nameTooLong),
            ("long_label_name", .nameTooLong),
            ("long_help", .helpTooLong),
            ("huge_label_value", .labelValueTooLong),
            ("many_labels", .tooManyLabels),
            ("invalid_utf8_label_value", .invalidUTF8),
            ("nan_histogram_sum", .nonFiniteValue),
            ("inf_summary_sum", .nonFiniteValue),
            ("negative_inf_bucket", .invalidHistogram),
        ])
    func invalidSampleIsRefused(mode: String, reason: MetricRefusalReason) async throws {
        let plugin = try await instance(mode: mode)
        let metrics = try await plugin.collectMetrics()
        await plugin.shutdown()
        #expect(metrics.map(\.name) == ["fixture_ok"])
        #expect(plugin.refusedSamples == [reason: 1])
    }

    @Test("refusals add up across collections of one instance")
    func refusalsAccumulate() async throws {
        let plugin = try await instance(mode: "bad_name")
        _ = try await plugin.collectMetrics()
        _ = try await plugin.collectMetrics()
        await plugin.shutdown()
        #expect(plugin.refusedSamples == [.invalidMetricName: 2])
    }

    @Test("a valid sample arrives with its value, labels and help text in metadata")
    func validSampleIsCopied() async throws {
        let plugin = try await instance(mode: "")
        let metrics = try await plugin.collectMetrics()
        await plugin.shutdown()
        let metric = try #require(metrics.first)
        #expect(metrics.count == 1)
        #expect(metric.value == .counter(7))
        #expect(metric.labels == [Label("a", "1")])
        #expect(metric.metadata["help"] == .string("A sample the host accepts."))
    }

    @Test("timestamp_ms 0 is stamped with the time of the collection (to the millisecond, as stored)")
    func zeroTimestampMeansNow() async throws {
        let plugin = try await instance(mode: "")
        let before = Date().addingTimeInterval(-0.001)
        let metric = try #require(try await plugin.collectMetrics().first)
        let after = Date().addingTimeInterval(0.001)
        await plugin.shutdown()
        #expect(metric.timestamp >= before && metric.timestamp <= after)
    }

    @Test("a collection past the sample budget keeps the budget and counts the rest")
    func budgetIsEnforced() async throws {
        let library = try PluginLibrary.load(path: PluginFixtures.filesystemCollector())
        let plugin = try await PluginInstance(library: library, sampleBudget: 3)
        let metrics = try await plugin.collectMetrics()
        await plugin.shutdown()
        #expect(metrics.count == 3)
        #expect(plugin.refusedSamples == [.overBudget: 2])
    }

    @Test("a gauge may be NaN or -Inf, as Prometheus allows", arguments: ["nan_gauge", "inf_gauge"])
    func nonFiniteGaugeIsKept(mode: String) async throws {
        let plugin = try await instance(mode: mode)
        let metrics = try await plugin.collectMetrics()
        await plugin.shutdown()
        #expect(metrics.map(\.name) == ["fixture_invalid", "fixture_ok"])
        guard case .gauge(let value) = metrics.first?.value else {
            Issue.record("expected a gauge, got \(String(describing: metrics.first?.value))")
            return
        }
        #expect(mode == "nan_gauge" ? value.isNaN : value == -.infinity)
        #expect(plugin.refusedSamples.isEmpty)
    }

    @Test("the limits are the documented ones")
    func limits() {
        #expect(MetricLimits.maxMetricNameBytes == 256)
        #expect(MetricLimits.maxLabelNameBytes == 256)
        #expect(MetricLimits.maxLabelValueBytes == 4096)
        #expect(MetricLimits.maxHelpBytes == 1024)
        #expect(MetricLimits.maxLabelsPerSample == 64)
    }

    @Test("a label value the plugin rewrites in the same buffer arrives fresh in every collection")
    func reusedBufferIsReadAgain() async throws {
        let plugin = try await instance(mode: "rotating_value")
        let first = try await plugin.collectMetrics()
        let second = try await plugin.collectMetrics()
        await plugin.shutdown()
        #expect(first.first?.labels == [Label("a", "collection-1")])
        #expect(second.first?.labels == [Label("a", "collection-2")])
    }

    @Test("more distinct label values than the name cache holds all arrive intact, twice")
    func nameCacheOverflow() async throws {
        let plugin = try await instance(mode: "many_values")
        let metrics = try await plugin.collectMetrics()
        await plugin.shutdown()
        #expect(metrics.count == 40_000)
        let expected = (0..<20_000).map { [Label("a", "value-\(String(repeating: "0", count: 5 - String($0).count))\($0)")] }
        #expect(metrics.prefix(20_000).map(\.labels) == expected)
        #expect(metrics.suffix(20_000).map(\.labels) == expected)
        #expect(metrics.allSatisfy { $0.name == "fixture_many" })
        #expect(plugin.refusedSamples.isEmpty)
    }
}

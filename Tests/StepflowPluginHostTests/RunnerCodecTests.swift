import Foundation
import StepflowCore
import Testing

@testable import StepflowPluginHost

@Suite("The runner's binary codec")
struct RunnerCodecTests {
    /// Bit-for-bit equality, so NaN equals NaN.
    private func same(_ a: Double, _ b: Double) -> Bool { a.bitPattern == b.bitPattern }

    @Test("metrics round-trip with NaN and ±Inf values, empty strings, many labels and every type")
    func metricsRoundTrip() throws {
        let stamp = Date(timeIntervalSince1970: 1_700_000_000.123)
        let labels = (0..<MetricLimits.maxLabelsPerSample).map {
            Label("label_\($0)", $0.isMultiple(of: 2) ? "" : "värde \($0) ✓")
        }
        let metrics = [
            Metric(
                name: "a_gauge", value: .gauge(.nan), labels: labels, timestamp: stamp,
                metadata: ["help": "ünïcode help"]),
            Metric(name: "b_gauge", value: .gauge(-.infinity), timestamp: stamp),
            Metric(name: "c_counter", value: .counter(.infinity), labels: [Label("", "")], timestamp: stamp),
            Metric(name: "", value: .counter(0.5), timestamp: stamp),
            Metric(
                name: "d_histogram",
                value: .histogram(
                    HistogramValue(
                        sum: .nan, count: .max,
                        buckets: [
                            HistogramBucket(upperBound: -.infinity, count: 0),
                            HistogramBucket(upperBound: 1.5, count: 7),
                        ])), timestamp: stamp),
            Metric(
                name: "e_summary",
                value: .summary(
                    SummaryValue(sum: 3, count: 2, quantiles: [Quantile(quantile: 0.99, value: .infinity)])),
                timestamp: Date(timeIntervalSince1970: 0)),
        ]
        let refused: [MetricRefusalReason: Int] = [.invalidMetricName: 3, .overBudget: 1]
        var encoder = RunnerMetricsCodec.Encoder()
        var decoder = RunnerMetricsCodec.Decoder()
        let frame = RunnerFrame(.metrics, payload: encoder.encode(MetricBatch(metrics), refused: refused))
        let (batch, decodedRefused) = try decoder.decode(try frameRoundTrip(frame).payload)
        let decoded = batch.metrics

        #expect(decodedRefused == refused)
        #expect(decoded.count == metrics.count)
        for (original, copy) in zip(metrics, decoded) {
            #expect(copy.name == original.name)
            #expect(copy.labels == original.labels)
            #expect(copy.help == original.help)
            #expect(copy.timestamp == original.timestamp)
            switch (original.value, copy.value) {
            case (.gauge(let a), .gauge(let b)), (.counter(let a), .counter(let b)):
                #expect(same(a, b))
            case (.histogram(let a), .histogram(let b)):
                #expect(same(a.sum, b.sum) && a.count == b.count)
                #expect(a.buckets.count == b.buckets.count)
                for (x, y) in zip(a.buckets, b.buckets) {
                    #expect(same(x.upperBound, y.upperBound) && x.count == y.count)
                }
            case (.summary(let a), .summary(let b)):
                #expect(same(a.sum, b.sum) && a.count == b.count)
                for (x, y) in zip(a.quantiles, b.quantiles) {
                    #expect(same(x.quantile, y.quantile) && same(x.value, y.value))
                }
            default:
                Issue.record("\(original.name) changed type: \(original.value) → \(copy.value)")
            }
        }
        #expect(decoded[0].labels.count == MetricLimits.maxLabelsPerSample)
    }

    /// Fifty samples of five series shaped like a collector's, with values that change per round.
    private func round(_ round: Int, paths: Int = 50) -> [Metric] {
        (0..<paths).map { index in
            Metric(
                name: "series_\(index % 5)", value: .gauge(Double(round * 100 + index)),
                labels: [Label("path", "/data/\(index)"), Label("round", "\(round % 2)")],
                timestamp: Date(timeIntervalSince1970: 1_700_000_000), metadata: ["help": .string("Help for \(index % 5).")])
        }
    }

    @Test("a runner's successive replies send each string once, and later replies only its id")
    func stringsSentOnce() throws {
        var encoder = RunnerMetricsCodec.Encoder()
        var decoder = RunnerMetricsCodec.Decoder()
        var sizes: [Int] = []
        for index in 0..<4 {
            let metrics = round(index)
            let payload = encoder.encode(MetricBatch(metrics), refused: [:])
            sizes.append(payload.count)
            let (batch, _) = try decoder.decode(payload)
            #expect(batch.metrics == metrics)
        }
        // Rounds 0 and 1 introduce the label values "0" and "1"; from round 2 on every string is known.
        #expect(sizes[2] < sizes[0])
        #expect(sizes[3] == sizes[2])
    }

    @Test("when the string table fills up, the runner starts a new one and the host follows")
    func tableReset() throws {
        var encoder = RunnerMetricsCodec.Encoder()
        var decoder = RunnerMetricsCodec.Decoder()
        let half = RunnerMetricsCodec.maxStrings / 2 + 10
        for round in 0..<3 {
            let metrics = (0..<half).map { index in
                Metric(name: "wide", value: .gauge(Double(index)), labels: [Label("id", "\(round)-\(index)")])
            }
            let (batch, _) = try decoder.decode(encoder.encode(MetricBatch(metrics), refused: [:]))
            #expect(batch.count == half)
            #expect(batch.last?.labels == [Label("id", "\(round)-\(half - 1)")])
        }
    }

    @Test("create, names and error payloads round-trip; an unknown error code becomes callFailed")
    func messagesRoundTrip() throws {
        let settings = [(name: "", value: ""), (name: "path", value: "/tmp/ü\n"), (name: "n", value: "3")]
        let create = try RunnerCodec.decodeCreateRequest(RunnerCodec.createRequest(name: "disk", settings: settings))
        #expect(create.name == "disk")
        #expect(create.settings.map(\.name) == settings.map(\.name))
        #expect(create.settings.map(\.value) == settings.map(\.value))

        #expect(
            try RunnerCodec.decodeNamesReply(RunnerCodec.namesReply(["a", "", "c_total"])) == ["a", "", "c_total"])

        let error = PluginError(.createFailed, plugin: "x", path: "/x.so", message: "boom", hint: "fix it")
        let decoded = try RunnerCodec.decodeErrorReply(RunnerCodec.errorReply(error))
        #expect(decoded.code == .createFailed && decoded.message == "boom" && decoded.hint == "fix it")
        let noHint = try RunnerCodec.decodeErrorReply(
            RunnerCodec.errorReply(
                PluginError(.crashed, plugin: nil, path: "", message: "")))
        #expect(noHint.code == .crashed && noHint.hint == nil)

        var writer = RunnerCodec.Writer()
        writer.string("no such code")
        writer.string("m")
        writer.string("")
        #expect(try RunnerCodec.decodeErrorReply(writer.bytes).code == .callFailed)
    }

    @Test("truncated payloads, absurd counts, trailing bytes and unknown frame types are refused")
    func refusesMalformedInput() throws {
        var encoder = RunnerMetricsCodec.Encoder()
        let payload = encoder.encode(MetricBatch([Metric(name: "x", value: .gauge(1))]), refused: [.invalidUTF8: 1])
        for cut in [1, 5, payload.count - 1] {
            var decoder = RunnerMetricsCodec.Decoder()
            #expect(throws: RunnerCodecError.self) { try decoder.decode(Array(payload.prefix(cut))) }
        }
        var decoder = RunnerMetricsCodec.Decoder()
        #expect(throws: RunnerCodecError.self) { try decoder.decode(payload + [0]) }
        // A reply that uses ids the host was never sent (as after a lost reply) is refused, not guessed at.
        let second = encoder.encode(MetricBatch([Metric(name: "x", value: .gauge(2))]), refused: [:])
        var fresh = RunnerMetricsCodec.Decoder()
        #expect(throws: RunnerCodecError.self) { try fresh.decode(second) }
        // More labels than any plugin may emit means a corrupt reply.
        let wide = Metric(
            name: "w", value: .gauge(1), labels: (0...MetricLimits.maxLabelsPerSample).map { Label("l\($0)", "") })
        var wideEncoder = RunnerMetricsCodec.Encoder()
        var wideDecoder = RunnerMetricsCodec.Decoder()
        #expect(throws: RunnerCodecError.self) {
            try wideDecoder.decode(wideEncoder.encode(MetricBatch([wide]), refused: [:]))
        }
        #expect(throws: RunnerCodecError.self) { try RunnerCodec.decodeNamesReply([0xFF, 0xFF, 0xFF, 0x7F]) }
        #expect(throws: RunnerCodecError.self) {
            try RunnerCodec.decodeNamesReply([1, 0, 0, 0, 2, 0, 0, 0, 0xC3, 0x28])
        }

        #expect(RunnerFrame(.collect).bytes == [0, 0, 0, 0, 0x02])
        let bad = try pipeWith([3, 0, 0, 0, 0x7E, 1, 2, 3])
        #expect(throws: RunnerIOFailure.malformed("unknown message type 0x7e")) { try RunnerFrameIO.read(from: bad) }
        close(bad)
        let short = try pipeWith([9, 0, 0, 0, 0x83, 1])
        #expect(throws: RunnerIOFailure.endOfStream(received: 1)) { try RunnerFrameIO.read(from: short) }
        close(short)
    }

    /// Writes `frame` into a pipe and reads it back.
    private func frameRoundTrip(_ frame: RunnerFrame) throws -> RunnerFrame {
        var fds: [Int32] = [0, 0]
        try #require(pipe(&fds) == 0)
        defer { close(fds[0]) }
        let writer = fds[1]
        let bytes = frame.bytes
        // A frame may exceed the pipe buffer: write from another thread.
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            try? RunnerFrameIO.write(RunnerFrame(frame.kind, payload: frame.payload), to: writer)
            close(writer)
            done.signal()
        }
        let read = try RunnerFrameIO.read(from: fds[0])
        done.wait()
        #expect(read.bytes == bytes)
        return read
    }

    /// A pipe holding `bytes`, write end closed; returns the read end.
    private func pipeWith(_ bytes: [UInt8]) throws -> Int32 {
        var fds: [Int32] = [0, 0]
        try #require(pipe(&fds) == 0)
        _ = bytes.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }
        close(fds[1])
        return fds[0]
    }
}

import StepflowCore

/// The `metrics` reply of a runner: a ``MetricBatch`` sent with a string table kept for the runner's lifetime.
///
/// Every string (metric name, HELP text, label name or value) is sent once per runner: the runner gives it the next
/// session id and the reply that first uses it carries its bytes; later replies carry only ids. A collector that
/// emits the same series every time therefore sends, per sample, a few integers and its value. When the table
/// reaches ``maxStrings`` strings or ``maxBytes`` bytes, the runner starts a new one and says so (the `reset` flag),
/// so memory stays bounded on both sides.
///
/// Layout (little-endian): `u8` flags (bit 0: reset the table first); `u32` count of new strings, each `u32` length
/// plus UTF-8 bytes, taking the next ids in order; `u32` sample count, each sample `u32` name id, `u32` HELP id
/// (`0xFFFFFFFF`: none), `u8` type (1 counter, 2 gauge, 3 histogram, 4 summary), `u32` label count, `u32` part
/// count, `f64` value (or sum), `u64` count, `i64` Unix milliseconds, then `(u32 name id, u32 value id)` per label
/// and `(f64, u64)` per bucket (upper bound, cumulative count) or quantile (φ, value bits); finally `u32` count of
/// refusal reasons, each a `u32`-length string and a `u64` count (the runner instance's totals so far).
enum RunnerMetricsCodec {
    /// The most strings one session table holds.
    static let maxStrings = 1 << 16
    /// The most bytes of text one session table holds.
    static let maxBytes = 16 << 20

    static let noString = UInt32.max
    private static let sampleHeaderBytes = 4 + 4 + 1 + 4 + 4 + 8 + 8 + 8

    static func typeCode(_ type: MetricType) -> UInt8 {
        switch type {
        case .counter: return 1
        case .gauge: return 2
        case .histogram: return 3
        case .summary: return 4
        }
    }

    static func type(ofCode code: UInt8) -> MetricType? {
        switch code {
        case 1: return .counter
        case 2: return .gauge
        case 3: return .histogram
        case 4: return .summary
        default: return nil
        }
    }

    /// The runner's side: which strings the host already has.
    struct Encoder {
        private var ids: [String: UInt32] = [:]
        private var textBytes = 0

        /// The reply payload for `batch` plus the runner instance's refusal totals.
        mutating func encode(_ batch: MetricBatch, refused: [MetricRefusalReason: Int]) -> [UInt8] {
            // Start a new table when this batch could take the current one past its bounds; a batch is never
            // split across tables, so one reply resets at most once.
            var incomingBytes = 0
            for string in batch.strings { incomingBytes += string.utf8.count }
            let reset =
                ids.count + batch.strings.count > RunnerMetricsCodec.maxStrings
                || textBytes + incomingBytes > RunnerMetricsCodec.maxBytes
            if reset {
                ids.removeAll(keepingCapacity: true)
                textBytes = 0
            }
            // Session ids of the batch's strings; new ones are sent in this reply.
            var sessionIDs = [UInt32](repeating: 0, count: batch.strings.count)
            var newStrings: [Int] = []
            var newBytes = 0
            for (index, string) in batch.strings.enumerated() {
                if let id = ids[string] {
                    sessionIDs[index] = id
                    continue
                }
                let id = UInt32(ids.count)
                ids[string] = id
                let length = string.utf8.count
                textBytes += length
                newBytes += length
                newStrings.append(index)
                sessionIDs[index] = id
            }
            let reasons = refused.sorted { $0.key.rawValue < $1.key.rawValue }
            var size = 1 + 4 + newStrings.count * 4 + newBytes + 4 + 4
            size += batch.samples.count * RunnerMetricsCodec.sampleHeaderBytes
            // What the samples reference: samples of registered series share a table of labels, some unused.
            for sample in batch.samples { size += Int(sample.labelCount) * 8 + Int(sample.partCount) * 16 }
            for (reason, _) in reasons { size += 4 + reason.rawValue.utf8.count + 8 }

            return [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
                var out = RawWriter(base: UnsafeMutableRawPointer(buffer.baseAddress!))
                out.u8(reset ? 1 : 0)
                out.u32(UInt32(newStrings.count))
                for index in newStrings { out.string(batch.strings[index]) }
                out.u32(UInt32(batch.samples.count))
                for sample in batch.samples {
                    out.u32(sessionIDs[Int(sample.name)])
                    out.u32(sample.help == MetricBatch.noString ? RunnerMetricsCodec.noString : sessionIDs[Int(sample.help)])
                    out.u8(RunnerMetricsCodec.typeCode(sample.type))
                    out.u32(sample.labelCount)
                    out.u32(sample.partCount)
                    out.u64(sample.value.bitPattern)
                    out.u64(sample.count)
                    out.u64(UInt64(bitPattern: sample.timestamp))
                    let labelStart = Int(sample.labelStart)
                    for label in batch.labels[labelStart..<(labelStart + Int(sample.labelCount))] {
                        out.u32(sessionIDs[Int(label.name)])
                        out.u32(sessionIDs[Int(label.value)])
                    }
                    let partStart = Int(sample.partStart)
                    for part in batch.parts[partStart..<(partStart + Int(sample.partCount))] {
                        out.u64(part.key.bitPattern)
                        out.u64(part.bits)
                    }
                }
                out.u32(UInt32(reasons.count))
                for (reason, count) in reasons {
                    out.string(reason.rawValue)
                    out.u64(UInt64(max(0, count)))
                }
                precondition(out.offset == size, "metrics reply size mismatch: wrote \(out.offset) of \(size)")
                initialized = size
            }
        }
    }

    /// The host's side: the strings the runner has sent so far. One per runner process.
    struct Decoder {
        private var strings: [String] = []
        private var hashes: [UInt64] = []
        /// Where each session string is in the batch being decoded (valid where `stamps` equals `generation`).
        private var slots: [UInt32] = []
        private var stamps: [UInt32] = []
        private var generation: UInt32 = 0
        private var textBytes = 0

        /// The batch and the runner instance's refusal totals.
        ///
        /// A malformed reply is refused whole. The table may then disagree with the runner's, so the caller must
        /// retire the runner (and this decoder with it).
        mutating func decode(_ payload: [UInt8]) throws(RunnerCodecError) -> (MetricBatch, [MetricRefusalReason: Int]) {
            let result = payload.withUnsafeBytes { raw -> Result<(MetricBatch, [MetricRefusalReason: Int]), RunnerCodecError> in
                var reader = RawReader(raw)
                do throws(RunnerCodecError) {
                    return .success(try decode(&reader))
                } catch {
                    return .failure(error)
                }
            }
            return try result.get()
        }

        private mutating func decode(_ reader: inout RawReader) throws(RunnerCodecError) -> (
            MetricBatch, [MetricRefusalReason: Int]
        ) {
            let flags = try reader.u8("flags")
            if flags & 1 != 0 {
                strings.removeAll(keepingCapacity: true)
                hashes.removeAll(keepingCapacity: true)
                textBytes = 0
            }
            let newCount = try reader.count("new string count", minimumBytesEach: 4)
            // The runner starts a new table before one exceeds its bounds; only the strings of one reply may go past.
            guard strings.count <= RunnerMetricsCodec.maxStrings, textBytes <= RunnerMetricsCodec.maxBytes else {
                throw RunnerCodecError(
                    "the runner kept \(strings.count) strings (\(textBytes) bytes) without starting a new table")
            }
            for _ in 0..<newCount {
                let (string, hash, length) = try reader.string("string #\(strings.count)")
                textBytes += length
                strings.append(string)
                hashes.append(hash)
            }
            beginBatch()

            let sampleCount = try reader.count("sample count", minimumBytesEach: RunnerMetricsCodec.sampleHeaderBytes)
            var batch = MetricBatch()
            batch.reserveCapacity(samples: sampleCount, labels: sampleCount * 4)
            for index in 0..<sampleCount {
                let name = try string(try reader.u32("name of sample #\(index)"), in: &batch)
                let helpID = try reader.u32("help of sample #\(index)")
                let help = helpID == RunnerMetricsCodec.noString ? MetricBatch.noString : try string(helpID, in: &batch)
                let code = try reader.u8("type of sample #\(index)")
                guard let type = RunnerMetricsCodec.type(ofCode: code) else {
                    throw RunnerCodecError("sample #\(index) has unknown type \(code)")
                }
                let labelCount = Int(try reader.u32("label count of sample #\(index)"))
                guard labelCount <= MetricLimits.maxLabelsPerSample else {
                    throw RunnerCodecError("sample #\(index) has \(labelCount) labels, more than any plugin may emit")
                }
                let partCount = Int(try reader.u32("bucket count of sample #\(index)"))
                guard partCount <= reader.remaining / 16 else {
                    throw RunnerCodecError("sample #\(index) announces \(partCount) buckets, more than the reply holds")
                }
                let value = Double(bitPattern: try reader.u64("value of sample #\(index)"))
                let count = try reader.u64("count of sample #\(index)")
                let timestamp = Int64(bitPattern: try reader.u64("timestamp of sample #\(index)"))
                let marks = batch.marks
                for _ in 0..<labelCount {
                    let labelName = try string(try reader.u32("label name of sample #\(index)"), in: &batch)
                    let labelValue = try string(try reader.u32("label value of sample #\(index)"), in: &batch)
                    batch.appendLabel(name: labelName, value: labelValue)
                }
                for _ in 0..<partCount {
                    let key = Double(bitPattern: try reader.u64("bucket of sample #\(index)"))
                    batch.appendPart(key: key, bits: try reader.u64("bucket of sample #\(index)"))
                }
                batch.appendSample(
                    name: name, help: help, type: type, value: value, count: count, timestamp: timestamp,
                    labelStart: marks.labels, partStart: marks.parts)
            }

            let reasonCount = try reader.count("refusal reason count", minimumBytesEach: 12)
            var refused: [MetricRefusalReason: Int] = [:]
            for _ in 0..<reasonCount {
                let (text, _, _) = try reader.string("refusal reason")
                guard let reason = MetricRefusalReason(rawValue: text) else {
                    throw RunnerCodecError("unknown refusal reason '\(text)'")
                }
                refused[reason] = Int(clamping: try reader.u64("refusal count"))
            }
            guard reader.remaining == 0 else { throw RunnerCodecError("\(reader.remaining) unexpected trailing bytes") }
            return (batch, refused)
        }

        private mutating func beginBatch() {
            generation &+= 1
            if generation == 0 {
                for index in stamps.indices { stamps[index] = 0 }
                generation = 1
            }
            if stamps.count < strings.count {
                let missing = strings.count - stamps.count
                stamps.append(contentsOf: repeatElement(0, count: missing))
                slots.append(contentsOf: repeatElement(0, count: missing))
            }
        }

        /// The batch index of session string `id`, adding it to the batch the first time it is used.
        private mutating func string(_ id: UInt32, in batch: inout MetricBatch) throws(RunnerCodecError) -> UInt32 {
            let index = Int(id)
            guard index < strings.count else {
                throw RunnerCodecError("string id \(id) was never sent (the runner has sent \(strings.count))")
            }
            if stamps[index] == generation { return slots[index] }
            let added = batch.addString(strings[index], hash: hashes[index])
            stamps[index] = generation
            slots[index] = added
            return added
        }
    }

    /// Writes little-endian values into memory sized beforehand.
    private struct RawWriter {
        let base: UnsafeMutableRawPointer
        var offset = 0

        mutating func u8(_ value: UInt8) {
            base.storeBytes(of: value, toByteOffset: offset, as: UInt8.self)
            offset += 1
        }

        mutating func u32(_ value: UInt32) {
            base.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt32.self)
            offset += 4
        }

        mutating func u64(_ value: UInt64) {
            base.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt64.self)
            offset += 8
        }

        mutating func string(_ value: String) {
            var value = value
            value.withUTF8 { utf8 in
                u32(UInt32(utf8.count))
                if let source = utf8.baseAddress, utf8.count > 0 {
                    (base + offset).copyMemory(from: source, byteCount: utf8.count)
                }
                offset += utf8.count
            }
        }
    }

    /// Reads little-endian values, refusing to read past the end.
    private struct RawReader {
        let raw: UnsafeRawBufferPointer
        var offset = 0

        init(_ raw: UnsafeRawBufferPointer) { self.raw = raw }

        var remaining: Int { raw.count - offset }

        mutating func u8(_ what: @autoclosure () -> String) throws(RunnerCodecError) -> UInt8 {
            guard remaining >= 1 else { throw RunnerCodecError("truncated \(what())") }
            defer { offset += 1 }
            return raw[offset]
        }

        mutating func u32(_ what: @autoclosure () -> String) throws(RunnerCodecError) -> UInt32 {
            guard remaining >= 4 else { throw RunnerCodecError("truncated \(what())") }
            defer { offset += 4 }
            return UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
        }

        mutating func u64(_ what: @autoclosure () -> String) throws(RunnerCodecError) -> UInt64 {
            guard remaining >= 8 else { throw RunnerCodecError("truncated \(what())") }
            defer { offset += 8 }
            return UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        }

        mutating func count(_ what: @autoclosure () -> String, minimumBytesEach: Int) throws(RunnerCodecError) -> Int {
            let count = Int(try u32(what()))
            guard count <= remaining / max(1, minimumBytesEach) else {
                throw RunnerCodecError("\(what()) \(count) exceeds what the remaining \(remaining) bytes can hold")
            }
            return count
        }

        /// A string with its ``ContentHash`` and byte length.
        mutating func string(_ what: @autoclosure () -> String) throws(RunnerCodecError) -> (String, UInt64, Int) {
            let length = Int(try u32("length of \(what())"))
            guard length <= remaining else { throw RunnerCodecError("truncated \(what())") }
            let bytes = UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + length)])
            offset += length
            guard let text = String(validating: bytes.bindMemory(to: UInt8.self), as: UTF8.self) else {
                throw RunnerCodecError("\(what()) is not valid UTF-8")
            }
            let hash = ContentHash.hash(bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, count: length)
            return (text, hash, length)
        }
    }
}

import StepflowCore

/// The fast reader of `POST /api/v1/metrics` bodies (`{"metrics": [...]}`, docs/http-api.md): one pass over the
/// bytes straight into a ``MetricBatch``, without the intermediate `JSONValue` tree and dictionaries the general
/// decoder builds (which cost ~50 µs a sample; docs/ingest.md, "JSON ingest").
///
/// It reads only bodies whose every item is valid, in the common form: plain strings (no escapes), numbers in
/// JSON's grammar, timestamps as integer milliseconds, no key twice. For anything else it returns `nil`, and the
/// caller decodes the body with the general decoder, which names every error by item and position. So the answer
/// to a body never depends on which reader took it; a test compares the two on generated bodies.
package enum MetricIngestJSON {
    /// The samples of `body` as a batch, in body order, with `now` (Unix milliseconds) for samples without a
    /// timestamp; `nil` when the body is not in the form this reader takes.
    package static func decode(_ body: UnsafeRawBufferPointer, now: Int64) -> MetricBatch? {
        guard let base = body.baseAddress, body.count > 0 else { return nil }
        var reader = Reader(bytes: base.assumingMemoryBound(to: UInt8.self), count: body.count)
        var builder = Builder(now: now)
        guard reader.readBody(into: &builder) else { return nil }
        return builder.batch
    }

    /// The most labels an item read here may have; an item with more goes to the general decoder.
    static let maxLabels = 64

    /// One item's fields as read.
    struct Item {
        var name: String?
        var type: MetricType?
        var value: Double?
        var labelStart = 0
        var timestamp: Int64?
        var help: String?
        var sum: Double?
        var count: UInt64?
        var hasValue = false, hasSum = false, hasCount = false, hasBuckets = false, hasQuantiles = false
        var parts: [(key: Double, bits: UInt64)] = []
        var seen: UInt16 = 0
    }

    /// Builds the batch: strings interned once per body.
    struct Builder {
        var batch = MetricBatch()
        var strings: [String: UInt32] = [:]
        var labels: [(name: String, value: String)] = []
        let now: Int64

        init(now: Int64) { self.now = now }

        mutating func intern(_ text: String) -> UInt32 {
            if let index = strings[text] { return index }
            let index = batch.addString(text, hash: ContentHash.hash(text))
            strings[text] = index
            return index
        }

        /// Appends a finished item; false when it is not one the general decoder would accept as it is.
        mutating func append(_ item: Item) -> Bool {
            guard let name = item.name, let type = item.type else { return false }
            let timestamp = item.timestamp ?? now
            let nameIndex = intern(name)
            let help = item.help.map { intern($0) } ?? MetricBatch.noString
            // Labels sorted by name, as the general decoder sorts them; ASCII names only, so byte order is the
            // String order.
            labels.sort { $0.name < $1.name }
            let labelStart = batch.marks.labels
            for label in labels { batch.appendLabel(name: intern(label.name), value: intern(label.value)) }
            labels.removeAll(keepingCapacity: true)
            let partStart = batch.marks.parts
            switch type {
            case .counter, .gauge:
                guard item.hasValue, let value = item.value, !item.hasSum, !item.hasCount, !item.hasBuckets,
                    !item.hasQuantiles
                else { return false }
                batch.appendSample(
                    name: nameIndex, help: help, type: type, value: value, count: 0, timestamp: timestamp,
                    labelStart: labelStart, partStart: partStart)
            case .histogram, .summary:
                guard !item.hasValue, let sum = item.sum, let count = item.count,
                    type == .histogram ? !item.hasQuantiles : !item.hasBuckets
                else { return false }
                for part in item.parts {
                    if type == .histogram, part.key == .infinity {
                        // The +Inf bucket is implied by count; an explicit one is dropped when it agrees.
                        guard part.bits == count else { return false }
                        continue
                    }
                    batch.appendPart(key: part.key, bits: part.bits)
                }
                batch.appendSample(
                    name: nameIndex, help: help, type: type, value: sum, count: count, timestamp: timestamp,
                    labelStart: labelStart, partStart: partStart)
            }
            return true
        }
    }

    /// A cursor over the body's bytes. Every read checks the bounds; a `false` or `nil` means "not for me".
    struct Reader {
        let bytes: UnsafePointer<UInt8>
        let count: Int
        var index = 0

        static let quote = UInt8(ascii: "\"")

        mutating func skipSpace() {
            while index < count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        mutating func take(_ byte: UInt8) -> Bool {
            skipSpace()
            guard index < count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        func peek() -> UInt8? { index < count ? bytes[index] : nil }

        /// A string without escapes or control characters, as a `String` (valid UTF-8 only).
        mutating func string() -> String? {
            guard take(Self.quote) else { return nil }
            let start = index
            while index < count {
                let byte = bytes[index]
                if byte == Self.quote {
                    let text = String(validating: UnsafeBufferPointer(start: bytes + start, count: index - start), as: UTF8.self)
                    index += 1
                    return text
                }
                if byte == UInt8(ascii: "\\") || byte < 0x20 { return nil }
                index += 1
            }
            return nil
        }

        /// The byte range of the next string when it is plain ASCII (no escapes, no control characters),
        /// consumed with its quotes.
        mutating func plainASCII() -> Range<Int>? {
            guard take(Self.quote) else { return nil }
            let start = index
            while index < count, bytes[index] != Self.quote {
                if bytes[index] == UInt8(ascii: "\\") || bytes[index] < 0x20 || bytes[index] >= 0x80 { return nil }
                index += 1
            }
            guard index < count else { return nil }
            index += 1
            return start..<(index - 1)
        }

        /// The key the next string names, consumed; `nil` for a key this reader does not know.
        mutating func key() -> Key? {
            guard let range = plainASCII() else { return nil }
            return Key(UnsafeBufferPointer(start: bytes + range.lowerBound, count: range.count))
        }

        /// `null`, consumed.
        mutating func null() -> Bool {
            skipSpace()
            guard index + 4 <= count, bytes[index] == UInt8(ascii: "n"), bytes[index + 1] == UInt8(ascii: "u"),
                bytes[index + 2] == UInt8(ascii: "l"), bytes[index + 3] == UInt8(ascii: "l")
            else { return false }
            index += 4
            return true
        }

        /// The text of a JSON number (its grammar checked), and whether it is an integer (no fraction, no
        /// exponent).
        mutating func numberText() -> (start: Int, end: Int, integer: Bool)? {
            skipSpace()
            let start = index
            if index < count, bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < count else { return nil }
            if bytes[index] == UInt8(ascii: "0") {
                index += 1
            } else if (UInt8(ascii: "1")...UInt8(ascii: "9")).contains(bytes[index]) {
                while index < count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            } else {
                return nil
            }
            var integer = true
            if index < count, bytes[index] == UInt8(ascii: ".") {
                integer = false
                index += 1
                let digits = index
                while index < count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
                guard index > digits else { return nil }
            }
            if index < count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                // Exponents are rare here, and where a double's range ends is the general decoder's to say.
                return nil
            }
            // Long numbers (past a double's precision or Int64's range) are left to the general decoder too.
            guard index - start <= 24 else { return nil }
            return (start, index, integer)
        }

        /// A JSON number as the general decoder reads it: an integer that fits Int64 through Int64 (so `-0` is 0),
        /// anything else as a double; or one of the strings "NaN", "+Inf", "Inf", "-Inf".
        mutating func number() -> Double? {
            skipSpace()
            if peek() == Self.quote {
                switch string() {
                case "NaN": return .nan
                case "+Inf", "Inf": return .infinity
                case "-Inf": return -.infinity
                default: return nil
                }
            }
            guard let text = numberText() else { return nil }
            let span = UnsafeBufferPointer(start: bytes + text.start, count: text.end - text.start)
            let digits = String(decoding: span, as: UTF8.self)
            if text.integer {
                guard let integer = Int64(digits) else { return nil }
                return Double(integer)
            }
            guard let double = Double(digits), double.isFinite else { return nil }
            // An integral double is what the general decoder reads as an integer first: -0.0 becomes 0.
            return double == 0 ? 0 : double
        }

        /// A non-negative integer in plain digits that fits Int64.
        mutating func nonNegativeInteger() -> UInt64? {
            guard let text = numberText(), text.integer, bytes[text.start] != UInt8(ascii: "-") else { return nil }
            let span = UnsafeBufferPointer(start: bytes + text.start, count: text.end - text.start)
            guard let value = Int64(String(decoding: span, as: UTF8.self)) else { return nil }
            return UInt64(exactly: value)
        }

        /// Integer Unix milliseconds within ``ValidTime``.
        mutating func timestamp() -> Int64? {
            guard let text = numberText(), text.integer else { return nil }
            let span = UnsafeBufferPointer(start: bytes + text.start, count: text.end - text.start)
            guard let value = Int64(String(decoding: span, as: UTF8.self)), ValidTime.contains(milliseconds: value) else {
                return nil
            }
            return value
        }

        /// `{"metrics": [item, ...]}` and nothing after it.
        mutating func readBody(into builder: inout Builder) -> Bool {
            guard take(UInt8(ascii: "{")), key() == .metrics, take(UInt8(ascii: ":")), take(UInt8(ascii: "[")) else {
                return false
            }
            if take(UInt8(ascii: "]")) {
                return take(UInt8(ascii: "}")) && atEnd()
            }
            repeat {
                guard readItem(into: &builder) else { return false }
            } while take(UInt8(ascii: ","))
            return take(UInt8(ascii: "]")) && take(UInt8(ascii: "}")) && atEnd()
        }

        mutating func atEnd() -> Bool {
            skipSpace()
            return index == count
        }

        mutating func readItem(into builder: inout Builder) -> Bool {
            guard take(UInt8(ascii: "{")) else { return false }
            var item = Item()
            if !take(UInt8(ascii: "}")) {
                repeat {
                    guard let key = key(), take(UInt8(ascii: ":")), item.seen & key.bit == 0 else { return false }
                    item.seen |= key.bit
                    guard readField(key, into: &item, builder: &builder) else { return false }
                } while take(UInt8(ascii: ","))
                guard take(UInt8(ascii: "}")) else { return false }
            }
            return builder.append(item)
        }

        mutating func readField(_ key: Key, into item: inout Item, builder: inout Builder) -> Bool {
            switch key {
            case .name:
                item.name = string()
                return item.name != nil
            case .type:
                guard let text = string(), let type = MetricType(rawValue: text) else { return false }
                item.type = type
            case .value:
                item.hasValue = true
                item.value = number()
                return item.value != nil
            case .sum:
                item.hasSum = true
                item.sum = number()
                return item.sum != nil
            case .count:
                item.hasCount = true
                item.count = nonNegativeInteger()
                return item.count != nil
            case .help:
                if null() { return true }
                item.help = string()
                return item.help != nil
            case .timestamp:
                if null() { return true }
                item.timestamp = timestamp()
                return item.timestamp != nil
            case .labels:
                if null() { return true }
                return readLabels(into: &builder)
            case .buckets, .quantiles:
                if key == .buckets { item.hasBuckets = true } else { item.hasQuantiles = true }
                if null() { return true }
                return readParts(key, into: &item)
            case .metrics, .le, .quantile:
                return false
            }
            return true
        }

        /// `{"name": "value", ...}`: ASCII names, each once.
        mutating func readLabels(into builder: inout Builder) -> Bool {
            guard take(UInt8(ascii: "{")) else { return false }
            if take(UInt8(ascii: "}")) { return true }
            let first = builder.labels.count
            repeat {
                skipSpace()
                guard peek() == Self.quote, let name = asciiString(), take(UInt8(ascii: ":")), let value = string() else {
                    return false
                }
                // More labels than any series may have are the general decoder's to refuse (and the duplicate
                // check here is quadratic).
                if builder.labels.count - first >= MetricIngestJSON.maxLabels { return false }
                if builder.labels[first...].contains(where: { $0.name == name }) { return false }
                builder.labels.append((name, value))
            } while take(UInt8(ascii: ","))
            return take(UInt8(ascii: "}"))
        }

        /// A plain string of ASCII bytes only.
        mutating func asciiString() -> String? {
            guard let range = plainASCII() else { return nil }
            return String(decoding: UnsafeBufferPointer(start: bytes + range.lowerBound, count: range.count), as: UTF8.self)
        }

        /// `[{"le": n, "count": c}, ...]` or `[{"quantile": q, "value": v}, ...]`, each key once and no other.
        mutating func readParts(_ key: Key, into item: inout Item) -> Bool {
            guard take(UInt8(ascii: "[")) else { return false }
            if take(UInt8(ascii: "]")) { return true }
            repeat {
                guard take(UInt8(ascii: "{")) else { return false }
                var first: Double?
                var second: UInt64?
                repeat {
                    guard let field = self.key(), take(UInt8(ascii: ":")) else { return false }
                    switch (key, field) {
                    case (.buckets, .le), (.quantiles, .quantile):
                        guard first == nil, let number = number() else { return false }
                        first = number
                    case (.buckets, .count):
                        guard second == nil, let count = nonNegativeInteger() else { return false }
                        second = count
                    case (.quantiles, .value):
                        guard second == nil, let number = number() else { return false }
                        second = number.bitPattern
                    default:
                        return false
                    }
                } while take(UInt8(ascii: ","))
                guard take(UInt8(ascii: "}")), let first, let second else { return false }
                item.parts.append((first, second))
            } while take(UInt8(ascii: ","))
            return take(UInt8(ascii: "]"))
        }
    }

    /// The keys this reader knows, each with a bit for "seen in this item".
    enum Key: UInt16 {
        case metrics, name, type, value, labels, timestamp, help, sum, count, buckets, quantiles, le, quantile

        var bit: UInt16 { 1 << rawValue }

        init?(_ text: UnsafeBufferPointer<UInt8>) {
            func equals(_ literal: StaticString) -> Bool {
                text.elementsEqual(UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
            }
            switch text.count {
            case 2 where equals("le"): self = .le
            case 3 where equals("sum"): self = .sum
            case 4 where equals("name"): self = .name
            case 4 where equals("type"): self = .type
            case 4 where equals("help"): self = .help
            case 5 where equals("value"): self = .value
            case 5 where equals("count"): self = .count
            case 6 where equals("labels"): self = .labels
            case 7 where equals("metrics"): self = .metrics
            case 7 where equals("buckets"): self = .buckets
            case 8 where equals("quantile"): self = .quantile
            case 9 where equals("timestamp"): self = .timestamp
            case 9 where equals("quantiles"): self = .quantiles
            default: return nil
            }
        }
    }
}

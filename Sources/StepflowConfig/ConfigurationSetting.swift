import StepflowCore

/// A value of one scalar setting, whatever its type.
enum SettingValue: Hashable, Sendable {
    case duration(Duration)
    case integer(Int)
    case boolean(Bool)
    case number(Double)
    case text(String)
    /// A list of numbers, such as histogram bucket bounds.
    case numbers([Double])
    /// Named lists of numbers, such as bucket bounds per histogram.
    case namedNumbers([String: [Double]])
    /// Names and texts, such as labels or HTTP headers.
    case namedTexts([String: String])
}

/// The type of a scalar setting.
enum SettingType: Sendable {
    case duration
    case integer
    case boolean
    case number
    case text
    case numbers
    case namedNumbers
    case namedTexts

    /// The type, as named in the reference.
    var name: String {
        switch self {
        case .duration: return "duration"
        case .integer: return "integer"
        case .boolean: return "boolean"
        case .number: return "number"
        case .text: return "text"
        case .numbers: return "list of numbers"
        case .namedNumbers: return "mapping of name to list of numbers"
        case .namedTexts: return "mapping of name to text"
        }
    }

    /// What a value of this type looks like, for "expected …" messages.
    var expectation: String {
        switch self {
        case .duration: return DurationParser.grammar
        case .integer: return "an integer"
        case .boolean: return "true or false"
        case .number: return "a number"
        case .text: return "text"
        case .numbers: return "a list of numbers such as [0.1, 0.5, 1]"
        case .namedNumbers: return "a mapping of names to lists of numbers, such as {latency_seconds: [0.1, 1]}"
        case .namedTexts: return "a mapping of names to texts, such as {host: web-1, region: eu}"
        }
    }

    /// Reads `text` (an environment variable's value) as this type, or says why it cannot.
    func parse(text: String) -> Result<SettingValue, SettingParseFailure> {
        let trimmed = text.trimmingWhitespace()
        let mismatch = SettingParseFailure(message: "expected \(expectation), found '\(text)'")
        switch self {
        case .duration:
            switch DurationParser.parse(trimmed) {
            case .success(let duration): return .success(.duration(duration))
            case .failure(.tooLarge): return .failure(SettingParseFailure(message: "'\(text)' is too long a duration (at most \(AlertRule.longestDurationText))"))
            case .failure(.malformed): return .failure(mismatch)
            }
        case .integer:
            guard let integer = Int(trimmed) else { return .failure(mismatch) }
            return .success(.integer(integer))
        case .boolean:
            switch trimmed.lowercased() {
            case "true", "yes", "on", "1": return .success(.boolean(true))
            case "false", "no", "off", "0": return .success(.boolean(false))
            default: return .failure(mismatch)
            }
        case .number:
            guard let number = Double(trimmed), number.isFinite else { return .failure(mismatch) }
            return .success(.number(number))
        case .text:
            return .success(.text(text))
        case .numbers:
            // "0.1,0.5,1", with or without brackets and spaces.
            var body = Substring(trimmed)
            if body.hasPrefix("["), body.hasSuffix("]") { body = body.dropFirst().dropLast() }
            var numbers: [Double] = []
            for part in body.split(separator: ",", omittingEmptySubsequences: false) {
                guard let number = Double(String(part).trimmingWhitespace()), !number.isNaN else {
                    return .failure(SettingParseFailure(
                        message: "expected numbers separated by commas (for example 0.1,0.5,1), found '\(text)'"))
                }
                numbers.append(number)
            }
            return .success(.numbers(numbers))
        case .namedNumbers:
            return .failure(SettingParseFailure(message: "this key has no environment variable"))
        case .namedTexts:
            // "name=value,other=value", as OTEL_RESOURCE_ATTRIBUTES; a value may be percent-encoded.
            guard let pairs = NamedTexts.parse(text) else {
                return .failure(SettingParseFailure(
                    message: "expected name=value pairs separated by commas (for example host=web-1,region=eu), found '\(text)'"))
            }
            return .success(.namedTexts(pairs))
        }
    }
}

/// The Swift property a setting is stored in, which also fixes its type.
enum SettingAccessor: Sendable {
    case duration(WritableKeyPath<MonitoringConfiguration, Duration> & Sendable)
    case integer(WritableKeyPath<MonitoringConfiguration, Int> & Sendable)
    case boolean(WritableKeyPath<MonitoringConfiguration, Bool> & Sendable)
    case number(WritableKeyPath<MonitoringConfiguration, Double> & Sendable)
    case text(WritableKeyPath<MonitoringConfiguration, String> & Sendable)
    case numbers(WritableKeyPath<MonitoringConfiguration, [Double]> & Sendable)
    case namedNumbers(WritableKeyPath<MonitoringConfiguration, [String: [Double]]> & Sendable)
    case namedTexts(WritableKeyPath<MonitoringConfiguration, [String: String]> & Sendable)

    /// The type of the property.
    var type: SettingType {
        switch self {
        case .duration: return .duration
        case .integer: return .integer
        case .boolean: return .boolean
        case .number: return .number
        case .text: return .text
        case .numbers: return .numbers
        case .namedNumbers: return .namedNumbers
        case .namedTexts: return .namedTexts
        }
    }
}

/// What a setting's value must satisfy beyond its type.
enum SettingConstraint: Sendable {
    /// Anything of the right type.
    case any
    /// A duration greater than zero.
    case positive
    /// An integer of zero or more.
    case nonNegative
    /// An integer of one or more.
    case atLeastOne
    /// An integer within these bounds.
    case integerRange(ClosedRange<Int>)
    /// A number from 0 to 1.
    case unitInterval
    /// A finite number of zero or more.
    case nonNegativeNumber
    /// File permissions in octal that let the owner read and write (`0600`, `0640`).
    case fileMode
    /// An RE2 pattern that compiles, or empty for none.
    case regexOrEmpty
    /// A TCP port, 0…65535.
    case port
    /// Text that is not empty.
    case nonEmpty
    /// An `http://` or `https://` URL.
    case httpURL
    /// An http(s) URL, or empty for "off".
    case httpURLOrEmpty
    /// Histogram bucket bounds: at least one, strictly ascending (per name, for named lists).
    case bucketBounds
    /// Summary quantiles: at least one, each from 0 to 1, no repeats.
    case quantiles
    /// Text that is one of these words.
    case oneOf([String])
    /// Comma-separated words, each one of these (empty for none).
    case commaSeparatedSubset(of: [String])
    /// Comma-separated `name:role` pairs (empty for none).
    case namedRoles
    /// Names that are Prometheus label names (`[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__`).
    case labelNames
    /// HTTP header names (RFC 9110 tokens) and values without control characters (no CR, LF or NUL).
    case httpHeaders
    /// Text sent in an HTTP header: no control characters.
    case headerValue
    /// An Elasticsearch index or data stream name: lowercase, none of `\ / * ? " < > | , #` or a space, not
    /// starting with `-`, `_` or `+`, not `.` or `..`, at most 255 bytes.
    case indexName

    /// Why `value` breaks the constraint, or `nil` when it holds.
    func violation(of value: SettingValue) -> String? {
        switch (self, value) {
        case (.positive, .duration(let duration)) where duration <= .zero:
            return "must be longer than zero, found \(DurationParser.format(duration))"
        case (.nonNegative, .integer(let integer)) where integer < 0:
            return "must not be negative, found \(integer)"
        case (.atLeastOne, .integer(let integer)) where integer < 1:
            return "must be at least 1, found \(integer)"
        case (.integerRange(let range), .integer(let integer)) where !range.contains(integer):
            return "must be from \(range.lowerBound) to \(range.upperBound), found \(integer)"
        case (.regexOrEmpty, .text(let text)) where !text.isEmpty:
            do {
                _ = try AnchoredRegex(text, what: "the pattern")
                return nil
            } catch {
                return error.message
            }
        case (.fileMode, .text(let text)):
            guard (3...4).contains(text.count), let bits = UInt32(text, radix: 8), bits <= 0o777 else {
                return "must be permissions in octal such as 0600 or 0640, found '\(text)'"
            }
            return bits & 0o600 == 0o600 ? nil : "must let the owner read and write (0600 at least), found '\(text)'"
        case (.nonNegativeNumber, .number(let number)) where !(number >= 0):
            return "must not be negative, found \(number)"
        case (.unitInterval, .number(let number)) where !(0...1).contains(number):
            return "must be between 0 and 1, found \(number)"
        case (.port, .integer(let integer)) where !(0...65535).contains(integer):
            return "must be a port between 0 and 65535, found \(integer)"
        case (.nonEmpty, .text(let text)) where text.trimmingWhitespace().isEmpty:
            return "must not be empty"
        case (.httpURL, .text(let text)) where !(text.hasPrefix("http://") || text.hasPrefix("https://")):
            return "must be a URL starting with http:// or https://, found '\(text)'"
        case (.httpURLOrEmpty, .text(let text))
        where !text.isEmpty && !(text.hasPrefix("http://") || text.hasPrefix("https://")):
            return "must be empty (off) or a URL starting with http:// or https://, found '\(text)'"
        case (.bucketBounds, .numbers(let bounds)):
            return Self.boundsViolation(bounds)
        case (.bucketBounds, .namedNumbers(let lists)):
            for (name, bounds) in lists.sorted(by: { $0.key < $1.key }) {
                if !MetricNameRules.isValidMetricName(name) {
                    return "'\(name)' is not a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)"
                }
                if let violation = Self.boundsViolation(bounds) { return "the buckets of \(name) " + violation }
            }
            return nil
        case (.commaSeparatedSubset(let words), .text(let text)):
            let unknown = text.split(separator: ",").map { String($0).trimmingWhitespace() }
                .filter { !$0.isEmpty && !words.contains($0) }
            guard let first = unknown.first else { return nil }
            return "'\(first)' is not one of " + words.map { "'\($0)'" }.joined(separator: ", ")
                + " (comma-separated; empty for none)"
        case (.headerValue, .text(let value)) where Self.hasControlCharacter(value):
            return "holds a control character (a line break?), which cannot be sent in an HTTP header"
        case (.httpHeaders, .namedTexts(let headers)):
            let token = Set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
            for (name, value) in headers.sorted(by: { $0.key < $1.key }) {
                if name.utf8.contains(where: { !token.contains($0) }) {
                    return "'\(name.prefix(100))' is not an HTTP header name (letters, digits and !#$%&'*+-.^_`|~)"
                }
                if Self.hasControlCharacter(value) {
                    return "the value of header '\(name)' holds a control character (a line break?)"
                }
            }
            return nil
        case (.indexName, .text(let name)):
            let forbidden = Set("\\/*?\"<>|,# ")
            if name.isEmpty || name == "." || name == ".." || name.utf8.count > 255
                || name.first.map({ "-_+".contains($0) }) == true || name.contains(where: { forbidden.contains($0) })
                || name != name.lowercased()
            {
                return "must be an Elasticsearch index name (lowercase; none of \\ / * ? \" < > | , # or space; not starting "
                    + "with -, _ or +; at most 255 bytes), found '\(name.prefix(300))'"
            }
            return nil
        case (.labelNames, .namedTexts(let texts)):
            guard let bad = texts.keys.sorted().first(where: { !MetricNameRules.isValidLabelName($0) || $0.hasPrefix("__") }) else {
                return nil
            }
            return "'\(bad)' is not a label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)"
        case (.namedRoles, .text(let text)):
            var security = SecurityConfig()
            security.clientCertificateRoles = text
            guard security.clientCertificateRoleMap == nil else { return nil }
            return "must be comma-separated name:role pairs, each role one of "
                + AccessRole.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ") + ", found '\(text)'"
        case (.oneOf(let words), .text(let text)) where !words.contains(text):
            return "must be " + words.map { "'\($0)'" }.joined(separator: " or ") + ", found '\(text)'"
        case (.quantiles, .numbers(let quantiles)):
            if quantiles.isEmpty { return "must list at least one quantile" }
            if let outside = quantiles.first(where: { !(0...1).contains($0) }) {
                return "must hold quantiles between 0 and 1, found \(outside)"
            }
            if Set(quantiles).count != quantiles.count { return "must not list a quantile twice" }
            return nil
        default:
            return nil
        }
    }

    private static func boundsViolation(_ bounds: [Double]) -> String? {
        if bounds.isEmpty { return "must list at least one bucket bound (+Inf is implied)" }
        if let nonFinite = bounds.first(where: { !$0.isFinite }) {
            return "must be finite numbers (+Inf is implied), found \(nonFinite)"
        }
        for (lower, upper) in zip(bounds, bounds.dropFirst()) where upper <= lower {
            return "must be strictly ascending, found \(lower) before \(upper)"
        }
        return nil
    }

    /// Whether `text` holds a character other than tab below space, or DEL.
    static func hasControlCharacter(_ text: String) -> Bool {
        text.unicodeScalars.contains { ($0.value < 0x20 && $0 != "\t") || $0.value == 0x7F }
    }

    /// The allowed values, as written in the reference.
    var summary: String {
        switch self {
        case .any: return "any"
        case .positive: return "> 0"
        case .nonNegative: return ">= 0"
        case .atLeastOne: return ">= 1"
        case .integerRange(let range): return "\(range.lowerBound) to \(range.upperBound)"
        case .unitInterval: return "0 to 1"
        case .nonNegativeNumber: return ">= 0"
        case .fileMode: return "octal, owner read and write"
        case .regexOrEmpty: return "empty, or an RE2 pattern"
        case .port: return "0 to 65535"
        case .nonEmpty: return "not empty"
        case .httpURL: return "http:// or https:// URL"
        case .httpURLOrEmpty: return "empty, or an http:// or https:// URL"
        case .bucketBounds: return "ascending, finite"
        case .quantiles: return "each 0 to 1"
        case .oneOf(let words): return words.map { "`\($0)`" }.joined(separator: " or ")
        case .namedRoles: return "comma-separated `name:role` pairs; may be empty"
        case .labelNames: return "label names"
        case .indexName: return "an Elasticsearch index name"
        case .httpHeaders: return "HTTP header names and values"
        case .headerValue: return "no control characters"
        case .commaSeparatedSubset(let words):
            return "comma-separated, each " + words.map { "`\($0)`" }.joined(separator: " or ") + "; may be empty"
        }
    }
}

/// One scalar key of the configuration: where it sits in YAML, which variable overrides it, and where it is stored.
struct ConfigurationSetting: Sendable {
    /// The YAML keys from the root, such as `["exporters", "prometheus", "endpoint"]`.
    let path: [String]
    /// The `STEPFLOW_MONITORING_*` variable that overrides the key, if any.
    let environmentVariable: String?
    /// The property that holds the value.
    let accessor: SettingAccessor
    /// What the value must satisfy.
    let constraint: SettingConstraint

    /// A setting at the dotted `path`, overridden by `STEPFLOW_MONITORING_` + `env` when `env` is given.
    init(
        _ path: String,
        env suffix: String? = nil,
        _ accessor: SettingAccessor,
        _ constraint: SettingConstraint = .any
    ) {
        self.path = path.split(separator: ".").map(String.init)
        self.environmentVariable = suffix.map { ConfigurationSchema.environmentPrefix + $0 }
        self.accessor = accessor
        self.constraint = constraint
    }

    /// The dotted key path, such as `metrics.collection_interval`.
    var keyPath: String { path.joined(separator: ".") }

    /// The current value of the setting in `configuration`.
    func value(in configuration: MonitoringConfiguration) -> SettingValue {
        switch accessor {
        case .duration(let keyPath): return .duration(configuration[keyPath: keyPath])
        case .integer(let keyPath): return .integer(configuration[keyPath: keyPath])
        case .boolean(let keyPath): return .boolean(configuration[keyPath: keyPath])
        case .number(let keyPath): return .number(configuration[keyPath: keyPath])
        case .text(let keyPath): return .text(configuration[keyPath: keyPath])
        case .numbers(let keyPath): return .numbers(configuration[keyPath: keyPath])
        case .namedNumbers(let keyPath): return .namedNumbers(configuration[keyPath: keyPath])
        case .namedTexts(let keyPath): return .namedTexts(configuration[keyPath: keyPath])
        }
    }

    /// Stores `value` into `configuration`; a value of another type than the setting's is ignored.
    func store(_ value: SettingValue, in configuration: inout MonitoringConfiguration) {
        switch (accessor, value) {
        case (.duration(let keyPath), .duration(let value)): configuration[keyPath: keyPath] = value
        case (.integer(let keyPath), .integer(let value)): configuration[keyPath: keyPath] = value
        case (.boolean(let keyPath), .boolean(let value)): configuration[keyPath: keyPath] = value
        case (.number(let keyPath), .number(let value)): configuration[keyPath: keyPath] = value
        case (.text(let keyPath), .text(let value)): configuration[keyPath: keyPath] = value
        case (.numbers(let keyPath), .numbers(let value)): configuration[keyPath: keyPath] = value
        case (.namedNumbers(let keyPath), .namedNumbers(let value)): configuration[keyPath: keyPath] = value
        case (.namedTexts(let keyPath), .namedTexts(let value)): configuration[keyPath: keyPath] = value
        default: break
        }
    }
}

/// Why a text or YAML value could not be read as a setting's type.
struct SettingParseFailure: Error, Equatable {
    var message: String
}

/// `name=value` pairs separated by commas, as OpenTelemetry's `OTEL_RESOURCE_ATTRIBUTES` and
/// `OTEL_EXPORTER_OTLP_HEADERS` write them: spaces around names and values are dropped, a value may be
/// percent-encoded, an empty text is no pairs.
enum NamedTexts {
    /// The pairs of `text`, or `nil` when a part has no `=` or an empty name.
    static func parse(_ text: String) -> [String: String]? {
        var pairs: [String: String] = [:]
        for part in text.split(separator: ",") where !part.allSatisfy(\.isWhitespace) {
            guard let equals = part.firstIndex(of: "=") else { return nil }
            let name = String(part[..<equals]).trimmingWhitespace()
            let raw = String(part[part.index(after: equals)...]).trimmingWhitespace()
            guard !name.isEmpty else { return nil }
            pairs[name] = raw.removingPercentEncoding ?? raw
        }
        return pairs
    }
}

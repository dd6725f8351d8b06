import StepflowCore
/// An annotation or label template: text with `{{ $labels.name }}`, `{{ $value }}` and `{{ $rule }}` (the rule's
/// name) in it, as in Prometheus rules. Parsed once, when the rule is validated: a reference to anything else is
/// an error there.
public struct AlertTemplate: Sendable, Hashable {
    enum Part: Sendable, Hashable {
        case text(String)
        case label(String)
        case value
        case rule
    }

    let parts: [Part]
    /// The template as written.
    public let source: String

    /// - Parameter field: what the template is, for errors ("annotation 'summary'").
    /// - Throws: `invalidAlertCondition` naming the field and the reference that is not known.
    public init(_ text: String, field: String) throws(MonitoringError) {
        source = text
        var parts: [Part] = []
        var rest = Substring(text)
        while let open = rest.range(of: "{{") {
            if open.lowerBound > rest.startIndex { parts.append(.text(String(rest[..<open.lowerBound]))) }
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                throw MonitoringError(
                    .invalidAlertCondition, "\(field): '{{' is not closed by '}}'", hint: "write {{ $labels.name }} or {{ $value }}")
            }
            let reference = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            switch reference {
            case "$value", ".Value": parts.append(.value)
            case "$rule", "$alertname": parts.append(.rule)
            default:
                var name: Substring?
                for prefix in ["$labels.", ".Labels."] where reference.hasPrefix(prefix) {
                    name = reference.dropFirst(prefix.count)
                }
                guard let name, MetricNameRules.isValidLabelName(String(name)) else {
                    throw MonitoringError(
                        .invalidAlertCondition, "\(field): unknown template field '{{ \(reference) }}'",
                        hint: "a template can use {{ $labels.<name> }}, {{ $value }} and {{ $rule }}")
                }
                parts.append(.label(String(name)))
            }
            rest = rest[close.upperBound...]
        }
        if !rest.isEmpty { parts.append(.text(String(rest))) }
        self.parts = parts
    }

    /// The text for one alert: a label it lacks is `""`, as in Prometheus.
    public func expand(labels: [Label], value: QueryValue?, rule: String) -> String {
        var out = ""
        for part in parts {
            switch part {
            case .text(let text): out += text
            case .label(let name): out += labels.first { $0.name == name }?.value ?? ""
            case .value: out += value?.description ?? ""
            case .rule: out += rule
            }
        }
        return out
    }
}

import StepflowCore

extension AlertRule {
    /// The rule checked and compiled: its query parsed, its condition fitted to the query, its templates parsed.
    ///
    /// - Throws: `invalidQuery` or `invalidAlertCondition` naming the rule and what is wrong.
    /// - Parameter limits: `limits:`; a name past `max_name_length`, or a description, query, label value or
    ///   annotation past `max_text_length`, is refused.
    public func validated(limits: LimitsConfig = .default) throws(MonitoringError) -> ValidatedAlertRule {
        func named(_ error: MonitoringError) -> MonitoringError {
            MonitoringError(error.code, "rule '\(name)': \(error.message)", hint: error.hint)
        }
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw MonitoringError(.invalidAlertCondition, "a rule needs a name", hint: "give it a unique name")
        }
        guard name.utf8.count <= limits.maxNameLength else {
            throw MonitoringError(
                .invalidAlertCondition,
                "a rule name is \(name.utf8.count) bytes long, more than limits.max_name_length (\(limits.maxNameLength))")
        }
        let texts = [("description", description), ("query", query), ("condition", condition.description)]
            + labels.map { ("label '\($0.name.prefix(64))'", $0.value) }
            + annotations.map { ("annotation '\($0.key.prefix(64))'", $0.value) }
        for (what, text) in texts where text.utf8.count > limits.maxTextLength {
            throw MonitoringError(
                .invalidAlertCondition,
                "rule '\(name)': \(what) is \(text.utf8.count) bytes long, more than limits.max_text_length "
                    + "(\(limits.maxTextLength))")
        }
        for key in annotations.keys where key.utf8.count > limits.maxNameLength {
            throw MonitoringError(
                .invalidAlertCondition,
                "rule '\(name)': an annotation name is longer than limits.max_name_length (\(limits.maxNameLength))")
        }
        for (what, duration) in [("for", forDuration), ("evaluation_interval", evaluationInterval), ("keep_firing_for", keepFiringFor)] {
            if let duration, duration < .zero {
                throw MonitoringError(.invalidAlertCondition, "rule '\(name)': \(what) cannot be negative")
            }
            if let duration, duration > Self.longestDuration {
                throw MonitoringError(.invalidAlertCondition, "rule '\(name)': \(what) may be at most \(Self.longestDurationText)")
            }
        }
        if let interval = evaluationInterval, interval <= .zero {
            throw MonitoringError(.invalidAlertCondition, "rule '\(name)': evaluation_interval must be longer than 0")
        }
        for label in labels where !MetricNameRules.isValidLabelName(label.name) {
            throw MonitoringError(.invalidAlertCondition, "rule '\(name)': '\(label.name)' is not a valid label name")
        }
        do throws(MonitoringError) {
            let parsed = try AlertQuery.parse(query)
            let condition = try condition.compiled(for: parsed.valueType)
            var templates: [String: AlertTemplate] = [:]
            for (key, text) in annotations {
                templates[key] = try AlertTemplate(text, field: "annotation '\(key)'")
            }
            var labelTemplates: [String: AlertTemplate] = [:]
            for label in labels {
                labelTemplates[label.name] = try AlertTemplate(label.value, field: "label '\(label.name)'")
            }
            return ValidatedAlertRule(
                rule: self, query: parsed, condition: condition, annotations: templates, labels: labelTemplates)
        } catch {
            throw named(error)
        }
    }
}

/// An ``AlertRule`` with its query parsed, condition compiled and templates parsed.
public struct ValidatedAlertRule: Sendable, Hashable {
    public let rule: AlertRule
    public let query: AlertQuery
    public let condition: CompiledAlertCondition
    public let annotations: [String: AlertTemplate]
    public let labels: [String: AlertTemplate]
}

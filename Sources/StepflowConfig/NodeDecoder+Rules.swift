import Foundation
import StepflowAlerting
import StepflowCore
import Yams

/// `alerts.rules` and `alerts.rule_files`, and the `rules:` list of a rule file.
///
/// A rule is checked as it is read: its query parsed, its condition fitted to the query, its templates parsed.
/// Each problem is reported at the node it comes from (the query's line for a query that does not parse), with
/// the rule's name.
extension NodeDecoder {
    /// `rule_files:`: a list of paths.
    mutating func decodeRuleFiles(_ node: Node, keyPath: String) -> [String] {
        if node.isScalarNode, node.tagName == .null { return [] }
        guard case .sequence(let sequence) = node else {
            report(node, keyPath: keyPath, "expected a list of rule files (each item starting with '- '), found \(Self.describe(node))")
            return []
        }
        var paths: [String] = []
        for (index, item) in sequence.enumerated() {
            guard enter(item) else { return paths }
            guard case .text(let path)? = scalarValue(item, as: .text, keyPath: "\(keyPath)[\(index)]") else { continue }
            if path.trimmingCharacters(in: .whitespaces).isEmpty {
                report(item, keyPath: "\(keyPath)[\(index)]", "must not be empty; name a YAML file with a rules: list")
                continue
            }
            paths.append(path)
        }
        return paths
    }

    /// A rule file's document: a mapping with one key, `rules`.
    mutating func decodeRuleFile(_ root: Node?) -> [AlertRule] {
        guard let root, enter(root) else { return [] }
        guard let pairs = mappingPairs(root, keyPath: "", emptyIsFine: true) else { return [] }
        var rules: [AlertRule] = []
        for (keyNode, valueNode) in pairs {
            guard enter(keyNode), enter(valueNode), let key = keyName(keyNode, parentPath: "") else { continue }
            guard key == ConfigurationSchema.rulesKey else {
                reportUnknownKey(keyNode, key: key, keyPath: key, validKeys: [ConfigurationSchema.rulesKey])
                continue
            }
            rules += decodeRules(valueNode, keyPath: ConfigurationSchema.rulesKey)
        }
        return rules
    }

    /// A `rules:` list.
    mutating func decodeRules(_ node: Node, keyPath: String) -> [AlertRule] {
        decodeNamedList(node, keyPath: keyPath, what: "alert rules", kind: "rule", name: \.name) { decoder, item, itemPath in
            decoder.decodeRule(item, keyPath: itemPath).map { ($0.0, $0.1) }
        }
    }

    /// One rule and the node of its name; `nil` after reporting what is wrong with it.
    private mutating func decodeRule(_ node: Node, keyPath itemPath: String) -> (AlertRule, Node)? {
        guard let pairs = mappingPairs(node, keyPath: itemPath, emptyIsFine: false) else { return nil }
        var values: [String: (key: Node, value: Node)] = [:]
        var valid = true
        for (keyNode, valueNode) in pairs {
            guard enter(keyNode), enter(valueNode) else { return nil }
            guard let key = keyName(keyNode, parentPath: itemPath) else {
                valid = false
                continue
            }
            guard ConfigurationSchema.ruleKeys.contains(key) else {
                reportUnknownKey(keyNode, key: key, keyPath: itemPath + "." + key, validKeys: ConfigurationSchema.ruleKeys)
                valid = false
                continue
            }
            values[key] = (keyNode, valueNode)
        }
        for required in ["name", "query", "condition"] where values[required] == nil {
            let example = required == "condition" ? " (for example condition: {greater_than: 0.9})" : ""
            report(node, keyPath: itemPath + "." + required, "missing required key; add '\(required):'\(example)")
            valid = false
        }
        guard valid, let nameNode = values["name"]?.value, let queryNode = values["query"]?.value,
            let conditionNode = values["condition"]?.value
        else { return nil }

        func text(_ key: String) -> String? {
            guard let node = values[key]?.value else { return nil }
            guard case .text(let text)? = scalarValue(node, as: .text, keyPath: itemPath + "." + key) else {
                valid = false
                return nil
            }
            return text
        }
        func duration(_ key: String) -> Duration? {
            guard let node = values[key]?.value, !(node.isScalarNode && node.tagName == .null) else { return nil }
            guard case .duration(let duration)? = scalarValue(node, as: .duration, keyPath: itemPath + "." + key) else {
                valid = false
                return nil
            }
            if key == "evaluation_interval", let violation = SettingConstraint.positive.violation(of: .duration(duration)) {
                report(node, keyPath: itemPath + "." + key, violation)
                valid = false
            }
            return duration
        }
        let name = text("name") ?? ""
        if valid, name.trimmingCharacters(in: .whitespaces).isEmpty {
            report(nameNode, keyPath: itemPath + ".name", "must not be empty; give the rule a name such as DiskAlmostFull")
            valid = false
        }
        let rulePath = "\(itemPath) ('\(name)')"
        let query = text("query") ?? ""
        var parsedQuery: AlertQuery?
        if valid {
            do throws(MonitoringError) {
                parsedQuery = try AlertQuery.parse(query)
            } catch {
                report(queryNode, keyPath: rulePath + ".query", error.message)
                valid = false
            }
        }
        var condition: AlertCondition?
        if let json = jsonValue(conditionNode, keyPath: itemPath + ".condition") {
            do throws(MonitoringError) {
                let decoded = try AlertCondition(json: json)
                if let parsedQuery { _ = try decoded.compiled(for: parsedQuery.valueType) }
                condition = decoded
            } catch {
                report(conditionNode, keyPath: rulePath + ".condition", error.message + (error.hint.map { "; \($0)" } ?? ""))
                valid = false
            }
        } else {
            valid = false
        }
        var severity = AlertSeverity.warning
        if let text = text("severity") {
            if let parsed = AlertSeverity(rawValue: text) {
                severity = parsed
            } else {
                report(values["severity"]!.value, keyPath: itemPath + ".severity",
                       "expected " + AlertSeverity.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ") + ", found '\(text)'")
                valid = false
            }
        }
        let labels = stringMapping("labels", in: values, itemPath: itemPath, valid: &valid)
        for (key, template) in labels {
            guard MetricNameRules.isValidLabelName(key) else {
                report(values["labels"]!.value, keyPath: "\(rulePath).labels.\(key)", "'\(key)' is not a label name ([a-zA-Z_][a-zA-Z0-9_]*)")
                valid = false
                continue
            }
            checkTemplate(template, field: "labels.\(key)", node: values["labels"]!.value, rulePath: rulePath, valid: &valid)
        }
        let annotations = stringMapping("annotations", in: values, itemPath: itemPath, valid: &valid)
        for (key, template) in annotations {
            checkTemplate(template, field: "annotations.\(key)", node: values["annotations"]!.value, rulePath: rulePath, valid: &valid)
        }
        var enabled = true
        if let node = values["enabled"]?.value {
            if case .boolean(let flag)? = scalarValue(node, as: .boolean, keyPath: itemPath + ".enabled", default: .boolean(true)) {
                enabled = flag
            } else {
                valid = false
            }
        }
        let forDuration = duration("for")
        let interval = duration("evaluation_interval")
        let keep = duration("keep_firing_for")
        guard valid, let condition else { return nil }
        let line = nameNode.mark.map { ":\($0.line)" } ?? ""
        // Fixed times: a declared rule is the same value at every load (the engine stamps real times).
        let epoch = Date(timeIntervalSince1970: 0)
        let rule = AlertRule(
            id: AlertRuleID("file:" + name), name: name, description: text("description") ?? "", query: query,
            condition: condition, severity: severity, labels: labels.map { Label($0.key, $0.value) },
            annotations: annotations, forDuration: forDuration, evaluationInterval: interval, keepFiringFor: keep,
            enabled: enabled, createdAt: epoch, updatedAt: epoch, source: file + line)
        return (rule, nameNode)
    }

    private mutating func stringMapping(
        _ key: String, in values: [String: (key: Node, value: Node)], itemPath: String, valid: inout Bool
    ) -> [String: String] {
        guard let node = values[key]?.value else { return [:] }
        guard let pairs = mappingPairs(node, keyPath: itemPath + "." + key, emptyIsFine: true) else {
            valid = false
            return [:]
        }
        var out: [String: String] = [:]
        for (keyNode, valueNode) in pairs {
            guard enter(keyNode), enter(valueNode), let name = keyName(keyNode, parentPath: itemPath + "." + key) else {
                valid = false
                continue
            }
            guard case .text(let text)? = scalarValue(valueNode, as: .text, keyPath: "\(itemPath).\(key).\(name)") else {
                valid = false
                continue
            }
            out[name] = text
        }
        return out
    }

    private mutating func checkTemplate(_ text: String, field: String, node: Node, rulePath: String, valid: inout Bool) {
        do throws(MonitoringError) {
            _ = try AlertTemplate(text, field: field)
        } catch {
            report(node, keyPath: "\(rulePath).\(field)", error.message + (error.hint.map { "; \($0)" } ?? ""))
            valid = false
        }
    }
}

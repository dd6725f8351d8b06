import Foundation
import StepflowCore
import StepflowSecurity

/// Writes a configuration back out as YAML that the loader reads back to the same value.
enum ConfigurationRenderer {
    static func render(_ configuration: MonitoringConfiguration) -> String {
        var lines = ["# The effective stepflow-monitor configuration (file and environment combined)."]
        var openSections: [String] = []
        for setting in ConfigurationSchema.settings {
            let section = Array(setting.path.dropLast())
            let shared = zip(openSections, section).prefix { $0 == $1 }.count
            for depth in shared..<section.count {
                lines.append(indent(depth) + section[depth] + ":")
            }
            openSections = section
            var value = setting.value(in: configuration).yamlText
            if Self.secrets.contains(setting.keyPath), case .text(let secret) = setting.value(in: configuration),
                !secret.isEmpty
            {
                value = JSONValue.quote("<redacted sha256:\(TokenDigest.hex(secret))>")
            }
            if Self.secrets.contains(setting.keyPath), case .namedTexts(let secrets) = setting.value(in: configuration) {
                value = SettingValue.namedTexts(secrets.mapValues { "<redacted sha256:\(TokenDigest.hex($0))>" }).yamlText
            }
            lines.append(indent(section.count) + setting.path.last! + ": " + value)
            if setting.path == lastAlertsSetting { lines += renderRules(configuration.alerts) }
            if setting.path == lastSecuritySetting { lines += renderTokens(configuration.security.tokens) }
            if setting.path == lastProfilerSetting { lines += renderProcessGroups(configuration.profiler.processes) }
        }
        // Plugin settings are shown with their secrets masked (security.redact_keys), like every other output.
        let redactor = Redactor(keys: configuration.security.redactKeys.split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces)
        })
        lines.append(contentsOf: renderPlugins(configuration.plugins, redactor: redactor))
        return lines.joined(separator: "\n") + "\n"
    }

    /// Settings never printed (only their SHA-256 digest): `check-config` output ends up in terminals, tickets and
    /// logs.
    static let secrets: Set<String> = [
        "http.auth_token", "exporters.elasticsearch.password", "exporters.elasticsearch.api_key",
        "exporters.otlp.headers",
    ]

    /// The last scalar key of `alerts:`, after which its lists are written.
    private static let lastAlertsSetting = ConfigurationSchema.settings.last { $0.path.first == "alerts" }!.path

    /// The last scalar key of `security:`, after which its token list is written.
    private static let lastSecuritySetting = ConfigurationSchema.settings.last {
        $0.path.first == ConfigurationSchema.securityPath[0]
    }!.path

    /// The last scalar key of `profiler:`, after which its process groups are written.
    private static let lastProfilerSetting = ConfigurationSchema.settings.last {
        $0.path.first == ConfigurationSchema.profilerPath[0]
    }!.path

    /// `processes:`: each group's name, its criteria and whether it tracks children.
    private static func renderProcessGroups(_ groups: [ProcessGroupConfig]) -> [String] {
        guard !groups.isEmpty else { return ["  \(ConfigurationSchema.processesKey): []"] }
        var lines = ["  \(ConfigurationSchema.processesKey):"]
        for group in groups {
            lines += ["    - name: " + JSONValue.quote(group.name), "      match:"]
            let criteria: [(String, String?)] = [
                ("comm", group.match.comm), ("exe", group.match.exe), ("cmdline", group.match.cmdline),
                ("user", group.match.user), ("cgroup", group.match.cgroup),
            ]
            for case let (key, value?) in criteria { lines.append("        \(key): " + JSONValue.quote(value)) }
            lines.append("      track_children: \(group.trackChildren)")
        }
        return lines
    }

    /// `tokens:`: names, roles and where each token comes from; a digest as `sha256:<hex>`, never a token.
    private static func renderTokens(_ tokens: [AccessTokenConfig]) -> [String] {
        guard !tokens.isEmpty else { return ["  \(ConfigurationSchema.tokensKey): []"] }
        var lines = ["  \(ConfigurationSchema.tokensKey):"]
        for token in tokens {
            let source: String
            switch token.secret {
            case .sha256(let hex): source = "token_sha256: " + JSONValue.quote("sha256:" + hex)
            case .file(let path): source = "token_file: " + JSONValue.quote(path)
            case .environment(let variable): source = "token_env: " + JSONValue.quote(variable)
            }
            lines += ["    - name: " + JSONValue.quote(token.name), "      role: " + token.role.rawValue, "      " + source]
        }
        return lines
    }

    /// `rule_files:` and the configuration's own `rules:` (those read from rule files stay in their files).
    private static func renderRules(_ alerts: AlertConfig) -> [String] {
        var lines = ["  \(ConfigurationSchema.ruleFilesKey): " + JSONValue.array(alerts.ruleFiles.map(JSONValue.string)).yamlFlowText]
        guard !alerts.rules.isEmpty else { return lines + ["  \(ConfigurationSchema.rulesKey): []"] }
        lines.append("  \(ConfigurationSchema.rulesKey):")
        for rule in alerts.rules {
            var fields = [
                "name: " + JSONValue.quote(rule.name), "description: " + JSONValue.quote(rule.description),
                "query: " + JSONValue.quote(rule.query), "condition: " + rule.condition.json.yamlFlowText,
                "severity: " + rule.severity.rawValue,
                "labels: " + JSONValue.object(Dictionary(rule.labels.map { ($0.name, JSONValue.string($0.value)) }, uniquingKeysWith: { a, _ in a })).yamlFlowText,
                "annotations: " + JSONValue.object(rule.annotations.mapValues(JSONValue.string)).yamlFlowText,
            ]
            if let duration = rule.forDuration { fields.append("for: " + DurationParser.format(duration)) }
            if let duration = rule.evaluationInterval { fields.append("evaluation_interval: " + DurationParser.format(duration)) }
            if let duration = rule.keepFiringFor { fields.append("keep_firing_for: " + DurationParser.format(duration)) }
            fields.append("enabled: \(rule.enabled)")
            for (index, field) in fields.enumerated() {
                lines.append((index == 0 ? "    - " : "      ") + field)
            }
        }
        return lines
    }

    private static func renderPlugins(_ plugins: [PluginConfig], redactor: Redactor) -> [String] {
        guard !plugins.isEmpty else { return ["\(ConfigurationSchema.pluginsKey): []"] }
        var lines = ["\(ConfigurationSchema.pluginsKey):"]
        for plugin in plugins {
            var fields: [String] = []
            if let name = plugin.name { fields.append("name: " + JSONValue.quote(name)) }
            fields.append("path: " + JSONValue.quote(plugin.path))
            fields.append("enabled: \(plugin.enabled)")
            fields.append("isolation: " + plugin.isolation.rawValue)
            fields.append(
                "budgets: {metrics_per_collection: \(plugin.budgets.metricsPerCollection), series: \(plugin.budgets.series), "
                    + "log_bytes_per_batch: \(plugin.budgets.logBytesPerBatch)}")
            if let interval = plugin.interval { fields.append("interval: " + DurationParser.format(interval)) }
            if let timeout = plugin.timeout { fields.append("timeout: " + DurationParser.format(timeout)) }
            if let staleAfter = plugin.staleAfter { fields.append("stale_after: " + DurationParser.format(staleAfter)) }
            if !plugin.labels.isEmpty {
                let pairs = plugin.labels.map { JSONValue.quote($0.name) + ": " + JSONValue.quote($0.value) }
                fields.append("labels: {" + pairs.joined(separator: ", ") + "}")
            }
            fields.append("settings: " + JSONValue.object(redactor.redact(fields: plugin.settings)).yamlFlowText)
            if let sha256 = plugin.sha256 { fields.append("sha256: " + JSONValue.quote(sha256)) }
            if !plugin.limits.isEmpty {
                var limits: [String] = []
                if let bytes = plugin.limits.memoryBytes { limits.append("memory: " + ByteSizeParser.format(bytes)) }
                if let cpuTime = plugin.limits.cpuTime { limits.append("cpu_time: " + DurationParser.format(cpuTime)) }
                if let count = plugin.limits.recycleAfterFailures { limits.append("recycle_after_failures: \(count)") }
                fields.append("limits: {" + limits.joined(separator: ", ") + "}")
            }
            for (index, field) in fields.enumerated() {
                lines.append((index == 0 ? "  - " : "    ") + field)
            }
        }
        return lines
    }

    private static func indent(_ depth: Int) -> String {
        String(repeating: "  ", count: depth)
    }
}

extension SettingValue {
    /// The value as a YAML scalar that reads back as the same value.
    var yamlText: String {
        switch self {
        case .duration(let duration): return DurationParser.format(duration)
        case .integer(let integer): return String(integer)
        case .boolean(let boolean): return boolean ? "true" : "false"
        case .number(let number): return JSONValue.double(number).yamlFlowText
        case .text(let text): return JSONValue.quote(text)
        case .numbers(let numbers): return JSONValue.array(numbers.map(JSONValue.double)).yamlFlowText
        case .namedNumbers(let lists):
            return JSONValue.object(lists.mapValues { JSONValue.array($0.map(JSONValue.double)) }).yamlFlowText
        case .namedTexts(let texts):
            return JSONValue.object(texts.mapValues(JSONValue.string)).yamlFlowText
        }
    }
}

extension JSONValue {
    /// The value in YAML flow style (JSON, except that non-finite numbers are written `.inf`, `-.inf` and `.nan`).
    var yamlFlowText: String {
        switch self {
        case .null: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .int(let value): return String(value)
        case .double(let value):
            if value.isNaN { return ".nan" }
            if value.isInfinite { return value < 0 ? "-.inf" : ".inf" }
            return String(value)
        case .string(let value): return JSONValue.quote(value)
        case .array(let values): return "[" + values.map(\.yamlFlowText).joined(separator: ", ") + "]"
        case .object(let members):
            let body = members.sorted { $0.key < $1.key }
                .map { JSONValue.quote($0.key) + ": " + $0.value.yamlFlowText }
                .joined(separator: ", ")
            return "{" + body + "}"
        }
    }
}

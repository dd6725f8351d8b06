import StepflowCore
import StepflowSecurity
import Yams

/// Builds a ``MonitoringConfiguration`` by walking a Yams node tree, collecting an issue (with file, line, column
/// and key path) for every problem instead of stopping at the first.
///
/// The walk visits at most ``nodeBudget`` nodes: an alias shares its anchored node, so a few hundred bytes of
/// nested aliases describe billions of nodes, and the budget is what keeps such a document from exploding.
struct NodeDecoder {
    /// The most nodes one document may expand to, aliases followed. A real configuration has a few hundred.
    static let defaultNodeBudget = 100_000

    /// The file name put into issues.
    let file: String
    /// The problems found so far, in document order.
    private(set) var issues: [ConfigurationIssue] = []
    /// The dotted paths of the scalar settings the document sets, in document order.
    private(set) var keyPathsSet: [String] = []

    /// The most nodes this decoder visits.
    let nodeBudget: Int

    private let excerpts: SourceExcerpt
    private var remainingNodes: Int
    private var budgetExceeded = false

    init(file: String, source: String, nodeBudget: Int = Self.defaultNodeBudget) {
        self.file = file
        self.excerpts = SourceExcerpt(source: source)
        self.nodeBudget = nodeBudget
        self.remainingNodes = nodeBudget
    }

    /// The configuration `root` describes: every key it leaves out keeps its default, and no root is all defaults.
    mutating func decode(_ root: Node?) -> MonitoringConfiguration {
        var configuration = MonitoringConfiguration.default
        guard let root, enter(root) else { return configuration }
        decodeSection(root, path: [], into: &configuration)
        return configuration
    }

    // MARK: Sections and settings

    private mutating func decodeSection(_ node: Node, path: [String], into configuration: inout MonitoringConfiguration) {
        guard let pairs = mappingPairs(node, keyPath: path.joined(separator: "."), emptyIsFine: true) else { return }
        let validKeys = ConfigurationSchema.childKeys(of: path)
        for (keyNode, valueNode) in pairs {
            guard enter(keyNode), enter(valueNode) else { return }
            guard let key = keyName(keyNode, parentPath: path.joined(separator: ".")) else { continue }
            let childPath = path + [key]
            let keyPath = childPath.joined(separator: ".")
            if path.isEmpty && key == ConfigurationSchema.pluginsKey {
                configuration.plugins = decodePlugins(valueNode)
            } else if path == ConfigurationSchema.alertsPath && key == ConfigurationSchema.rulesKey {
                configuration.alerts.rules = decodeRules(valueNode, keyPath: keyPath)
            } else if path == ConfigurationSchema.alertsPath && key == ConfigurationSchema.ruleFilesKey {
                configuration.alerts.ruleFiles = decodeRuleFiles(valueNode, keyPath: keyPath)
            } else if path == ConfigurationSchema.securityPath && key == ConfigurationSchema.tokensKey {
                configuration.security.tokens = decodeTokens(valueNode, keyPath: keyPath)
            } else if path == ConfigurationSchema.profilerPath && key == ConfigurationSchema.processesKey {
                configuration.profiler.processes = decodeProcessGroups(valueNode, keyPath: keyPath)
            } else if let setting = ConfigurationSchema.setting(at: childPath) {
                keyPathsSet.append(keyPath)
                guard let value = scalarValue(valueNode, as: setting.accessor.type, keyPath: keyPath,
                                              default: setting.value(in: .default))
                else { continue }
                if let violation = setting.constraint.violation(of: value) {
                    report(valueNode, keyPath: keyPath, violation)
                } else {
                    setting.store(value, in: &configuration)
                }
            } else if validKeys.contains(key) {
                decodeSection(valueNode, path: childPath, into: &configuration)
            } else {
                reportUnknownKey(keyNode, key: key, keyPath: keyPath, validKeys: validKeys)
            }
        }
    }

    /// The value of a scalar node as `type`, or `nil` after reporting why it is not one.
    mutating func scalarValue(
        _ node: Node, as type: SettingType, keyPath: String, default defaultValue: SettingValue? = nil
    ) -> SettingValue? {
        switch type {
        case .numbers: return numberList(node, keyPath: keyPath).map(SettingValue.numbers)
        case .namedNumbers: return namedNumberLists(node, keyPath: keyPath).map(SettingValue.namedNumbers)
        case .namedTexts: return namedTexts(node, keyPath: keyPath).map(SettingValue.namedTexts)
        default: break
        }
        guard case .scalar(let scalar) = node, node.tagName != .null else {
            if node.tagName == .null, case .scalar = node {
                let keep = defaultValue.map { ", or remove the key to keep the default (\($0.yamlText))" } ?? ""
                report(node, keyPath: keyPath, "has no value; write \(type.expectation)\(keep)")
            } else {
                report(node, keyPath: keyPath, "expected \(type.expectation), found \(Self.describe(node))")
            }
            return nil
        }
        let tag = node.tagName
        let mismatch = "expected \(type.expectation), found \(Self.describe(node))"
        switch type {
        case .duration:
            guard tag == .int || tag == .float || tag == .str else { break }
            switch DurationParser.parse(scalar.string) {
            case .success(let duration): return .duration(duration)
            case .failure(.tooLarge):
                report(node, keyPath: keyPath, "'\(scalar.string)' is too long a duration (at most \(AlertRule.longestDurationText))")
                return nil
            case .failure(.malformed): break
            }
        case .integer:
            guard tag == .int else { break }
            guard let integer = node.int else {
                report(node, keyPath: keyPath, "\(scalar.string) is too large for an integer")
                return nil
            }
            return .integer(integer)
        case .boolean:
            if tag == .bool, let boolean = node.bool { return .boolean(boolean) }
        case .number:
            if tag == .int, let integer = node.int { return .number(Double(integer)) }
            if tag == .float, let number = node.float, number.isFinite { return .number(number) }
        case .text:
            return .text(scalar.string)
        case .numbers, .namedNumbers, .namedTexts:
            break
        }
        report(node, keyPath: keyPath, mismatch)
        return nil
    }

    /// A YAML list of numbers (`[0.1, 0.5, 1]` or one item per line), or `nil` after reporting what is wrong.
    private mutating func numberList(_ node: Node, keyPath: String) -> [Double]? {
        guard case .sequence(let sequence) = node else {
            report(node, keyPath: keyPath, "expected \(SettingType.numbers.expectation), found \(Self.describe(node))")
            return nil
        }
        var numbers: [Double] = []
        var valid = true
        for (index, item) in sequence.enumerated() {
            guard enter(item) else { return nil }
            if item.tagName == .int, let integer = item.int {
                numbers.append(Double(integer))
            } else if item.tagName == .float, let number = item.float, !number.isNaN {
                numbers.append(number)
            } else {
                report(item, keyPath: "\(keyPath)[\(index)]", "expected a number, found \(Self.describe(item))")
                valid = false
            }
        }
        return valid ? numbers : nil
    }

    /// A mapping of names to texts (`{host: web-1}`; numbers and booleans as their text), or `nil` after
    /// reporting what is wrong.
    private mutating func namedTexts(_ node: Node, keyPath: String) -> [String: String]? {
        guard let pairs = mappingPairs(node, keyPath: keyPath, emptyIsFine: true) else { return nil }
        var texts: [String: String] = [:]
        var valid = true
        for (keyNode, valueNode) in pairs {
            guard enter(keyNode), enter(valueNode) else { return nil }
            guard let name = keyName(keyNode, parentPath: keyPath) else {
                valid = false
                continue
            }
            guard case .scalar(let scalar) = valueNode else {
                report(valueNode, keyPath: keyPath + "." + name, "expected text, found \(Self.describe(valueNode))")
                valid = false
                continue
            }
            texts[name] = valueNode.tagName == .null ? "" : scalar.string
        }
        return valid ? texts : nil
    }

    /// A mapping of names to lists of numbers, or `nil` after reporting what is wrong.
    private mutating func namedNumberLists(_ node: Node, keyPath: String) -> [String: [Double]]? {
        guard let pairs = mappingPairs(node, keyPath: keyPath, emptyIsFine: true) else { return nil }
        var lists: [String: [Double]] = [:]
        var valid = true
        for (keyNode, valueNode) in pairs {
            guard enter(keyNode), enter(valueNode) else { return nil }
            guard let name = keyName(keyNode, parentPath: keyPath),
                let numbers = numberList(valueNode, keyPath: keyPath + "." + name)
            else {
                valid = false
                continue
            }
            lists[name] = numbers
        }
        return valid ? lists : nil
    }

    // MARK: Plugins

    private mutating func decodePlugins(_ node: Node) -> [PluginConfig] {
        decodeNamedList(
            node, keyPath: ConfigurationSchema.pluginsKey, what: "plugins", kind: "plugin", name: \.name
        ) { decoder, item, itemPath in
            decoder.decodePlugin(item, keyPath: itemPath)
        }
    }

    /// One plugin, and the node of its `name` (for duplicate reports); `nil` after reporting what is wrong.
    private mutating func decodePlugin(_ node: Node, keyPath itemPath: String) -> (PluginConfig, Node?)? {
        guard let pairs = mappingPairs(node, keyPath: itemPath, emptyIsFine: false) else { return nil }
        var plugin = PluginConfig(path: "")
        var hasPath = false
        var nameNode: Node?
        var limitsNode: Node?
        var valid = true
        for (keyNode, valueNode) in pairs {
            guard enter(keyNode), enter(valueNode) else { return nil }
            guard let key = keyName(keyNode, parentPath: itemPath) else {
                valid = false
                continue
            }
            let keyPath = itemPath + "." + key
            let isNull = valueNode.tagName == .null && valueNode.isScalarNode
            switch key {
            case "name":
                nameNode = valueNode
                if isNull { continue }
                guard case .text(let name)? = scalarValue(valueNode, as: .text, keyPath: keyPath) else {
                    valid = false
                    continue
                }
                if let violation = SettingConstraint.nonEmpty.violation(of: .text(name)) {
                    report(valueNode, keyPath: keyPath, violation + "; remove the key to use the plugin's own name")
                    valid = false
                }
                plugin.name = name
            case "path":
                hasPath = true
                guard case .text(let path)? = scalarValue(valueNode, as: .text, keyPath: keyPath) else {
                    valid = false
                    continue
                }
                if let violation = SettingConstraint.nonEmpty.violation(of: .text(path)) {
                    report(valueNode, keyPath: keyPath, violation + "; name the plugin's shared library")
                    valid = false
                }
                plugin.path = path
            case "enabled":
                guard case .boolean(let enabled)? = scalarValue(valueNode, as: .boolean, keyPath: keyPath,
                                                                default: .boolean(true))
                else {
                    valid = false
                    continue
                }
                plugin.enabled = enabled
            case "isolation":
                guard case .text(let text)? = scalarValue(valueNode, as: .text, keyPath: keyPath) else {
                    valid = false
                    continue
                }
                guard let isolation = PluginIsolation(rawValue: text) else {
                    let choices = PluginIsolation.allCases.map { "'\($0.rawValue)'" }.joined(separator: " or ")
                    report(valueNode, keyPath: keyPath, "expected \(choices), found '\(text)'")
                    valid = false
                    continue
                }
                plugin.isolation = isolation
            case "labels":
                guard let labels = decodeLabels(valueNode, keyPath: keyPath) else {
                    valid = false
                    continue
                }
                plugin.labels = labels
            case "interval", "timeout", "stale_after":
                if isNull { continue }
                guard case .duration(let duration)? = scalarValue(valueNode, as: .duration, keyPath: keyPath) else {
                    valid = false
                    continue
                }
                if let violation = SettingConstraint.positive.violation(of: .duration(duration)) {
                    report(valueNode, keyPath: keyPath, violation)
                    valid = false
                }
                switch key {
                case "interval": plugin.interval = duration
                case "timeout": plugin.timeout = duration
                default: plugin.staleAfter = duration
                }
            case "budgets":
                guard let budgets = decodeBudgets(valueNode, keyPath: keyPath) else {
                    valid = false
                    continue
                }
                plugin.budgets = budgets
            case "settings":
                guard let settings = decodeSettings(valueNode, keyPath: keyPath) else {
                    valid = false
                    continue
                }
                plugin.settings = settings
            case "sha256":
                if isNull { continue }
                guard case .text(let text)? = scalarValue(valueNode, as: .text, keyPath: keyPath) else {
                    valid = false
                    continue
                }
                let hex = text.hasPrefix("sha256:") ? String(text.dropFirst(7)) : text
                guard TokenDigest.bytes(hex: hex) != nil else {
                    report(valueNode, keyPath: keyPath,
                           "expected the library's SHA-256 digest, 64 hex digits (stepflow-monitor plugins inspect prints it)")
                    valid = false
                    continue
                }
                plugin.sha256 = hex.lowercased()
            case "limits":
                limitsNode = valueNode
                guard let limits = decodeLimits(valueNode, keyPath: keyPath) else {
                    valid = false
                    continue
                }
                plugin.limits = limits
            default:
                reportUnknownKey(keyNode, key: key, keyPath: keyPath, validKeys: ConfigurationSchema.pluginKeys)
                valid = false
            }
        }
        if !hasPath {
            report(node, keyPath: itemPath + ".path",
                   "missing required key; add 'path:' naming the plugin's shared library "
                       + "(for example libStepflowSystemCollector.so)")
            valid = false
        }
        if let limitsNode, !plugin.limits.isEmpty, plugin.isolation == .inProcess {
            report(limitsNode, keyPath: itemPath + ".limits",
                   "limits need 'isolation: process' (an in-process plugin shares the host's own limits); "
                       + "add 'isolation: process' to this plugin or remove 'limits'")
            valid = false
        }
        return valid ? (plugin, nameNode) : nil
    }

    /// A plugin's `limits:` mapping: `memory` (bytes, or with a KiB/MiB/GiB suffix) and `cpu_time` (a duration).
    private mutating func decodeLimits(_ node: Node, keyPath: String) -> PluginLimits? {
        guard let pairs = mappingPairs(node, keyPath: keyPath, emptyIsFine: true) else { return nil }
        var limits = PluginLimits()
        var valid = true
        for (keyNode, valueNode) in pairs {
            guard enter(keyNode), enter(valueNode) else { return nil }
            guard let key = keyName(keyNode, parentPath: keyPath) else {
                valid = false
                continue
            }
            let limitPath = keyPath + "." + key
            if valueNode.tagName == .null && valueNode.isScalarNode { continue }
            switch key {
            case "memory":
                let example = "write a number of bytes, optionally with KiB, MiB or GiB (for example 512MiB)"
                guard case .scalar(let scalar) = valueNode, valueNode.tagName == .int || valueNode.tagName == .str else {
                    report(valueNode, keyPath: limitPath,
                           "expected a byte size, found \(Self.describe(valueNode)); \(example)")
                    valid = false
                    continue
                }
                guard let bytes = ByteSizeParser.parse(scalar.string) else {
                    report(valueNode, keyPath: limitPath, "'\(scalar.string)' is not a byte size; \(example)")
                    valid = false
                    continue
                }
                guard bytes >= ConfigurationSchema.minimumMemoryLimit else {
                    report(valueNode, keyPath: limitPath,
                           "\(ByteSizeParser.format(bytes)) is too small: the runner itself needs address space; "
                               + "use at least \(ByteSizeParser.format(ConfigurationSchema.minimumMemoryLimit))")
                    valid = false
                    continue
                }
                limits.memoryBytes = bytes
            case "cpu_time":
                guard case .duration(let duration)? = scalarValue(valueNode, as: .duration, keyPath: limitPath) else {
                    valid = false
                    continue
                }
                guard duration >= .seconds(1) else {
                    report(valueNode, keyPath: limitPath,
                           "must be at least 1s: RLIMIT_CPU counts whole seconds (fractions are rounded up)")
                    valid = false
                    continue
                }
                limits.cpuTime = duration
            case "recycle_after_failures":
                guard case .integer(let count)? = scalarValue(valueNode, as: .integer, keyPath: limitPath) else {
                    valid = false
                    continue
                }
                if let violation = SettingConstraint.nonNegative.violation(of: .integer(count)) {
                    report(valueNode, keyPath: limitPath, violation + "; 0 never restarts a runner for failed calls")
                    valid = false
                    continue
                }
                limits.recycleAfterFailures = count
            default:
                reportUnknownKey(keyNode, key: key, keyPath: limitPath, validKeys: ConfigurationSchema.pluginLimitKeys)
                valid = false
            }
        }
        return valid ? limits : nil
    }

    /// A plugin's `labels:` mapping of label names to text values, sorted by name.
    private mutating func decodeLabels(_ node: Node, keyPath: String) -> [Label]? {
        guard let pairs = mappingPairs(node, keyPath: keyPath, emptyIsFine: true) else { return nil }
        var labels: [Label] = []
        var valid = true
        for (keyNode, valueNode) in pairs {
            guard enter(keyNode), enter(valueNode), let name = keyName(keyNode, parentPath: keyPath) else {
                valid = false
                continue
            }
            let path = keyPath + "." + name
            guard MetricNameRules.isValidLabelName(name) else {
                report(keyNode, keyPath: path,
                       "'\(name)' is not a label name: it must match [a-zA-Z_][a-zA-Z0-9_]* and not start with __")
                valid = false
                continue
            }
            guard !["le", "quantile"].contains(name) else {
                report(keyNode, keyPath: path,
                       "'\(name)' is reserved for histogram buckets and summary quantiles; choose another name")
                valid = false
                continue
            }
            guard case .text(let value)? = scalarValue(valueNode, as: .text, keyPath: path) else {
                valid = false
                continue
            }
            labels.append(Label(name, value))
        }
        return valid ? labels.sorted() : nil
    }

    /// A plugin's `budgets:` mapping; keys left out keep their defaults.
    private mutating func decodeBudgets(_ node: Node, keyPath: String) -> PluginBudgets? {
        var budgets = PluginBudgets()
        if node.isScalarNode, node.tagName == .null { return budgets }
        guard let pairs = mappingPairs(node, keyPath: keyPath, emptyIsFine: true) else { return nil }
        var valid = true
        for (keyNode, valueNode) in pairs {
            guard enter(keyNode), enter(valueNode), let key = keyName(keyNode, parentPath: keyPath) else {
                valid = false
                continue
            }
            let path = keyPath + "." + key
            guard ConfigurationSchema.pluginBudgetKeys.contains(key) else {
                reportUnknownKey(keyNode, key: key, keyPath: path, validKeys: ConfigurationSchema.pluginBudgetKeys)
                valid = false
                continue
            }
            guard case .integer(let value)? = scalarValue(valueNode, as: .integer, keyPath: path) else {
                valid = false
                continue
            }
            if let violation = SettingConstraint.atLeastOne.violation(of: .integer(value)) {
                report(valueNode, keyPath: path, violation)
                valid = false
                continue
            }
            switch key {
            case "series": budgets.series = value
            case "log_bytes_per_batch": budgets.logBytesPerBatch = value
            default: budgets.metricsPerCollection = value
            }
        }
        return valid ? budgets : nil
    }

    /// A plugin's `settings:` mapping, whatever YAML its values hold.
    private mutating func decodeSettings(_ node: Node, keyPath: String) -> [String: JSONValue]? {
        if node.isScalarNode, node.tagName == .null { return [:] }
        guard case .mapping = node else {
            report(node, keyPath: keyPath, "expected a mapping of plugin settings, found \(Self.describe(node))")
            return nil
        }
        guard case .object(let members)? = jsonValue(node, keyPath: keyPath) else { return nil }
        return members
    }

    /// Any YAML value as JSON; a non-text mapping key is reported. The caller has counted `node` already.
    mutating func jsonValue(_ node: Node, keyPath: String) -> JSONValue? {
        switch node {
        case .scalar(let scalar):
            switch node.tagName {
            case .null: return .null
            case .bool: return node.bool.map(JSONValue.bool) ?? .string(scalar.string)
            case .int: return node.int.map { .int(Int64($0)) } ?? .string(scalar.string)
            case .float: return node.float.map(JSONValue.double) ?? .string(scalar.string)
            default: return .string(scalar.string)
            }
        case .sequence(let sequence):
            var items: [JSONValue] = []
            for (index, item) in sequence.enumerated() {
                guard enter(item), let value = jsonValue(item, keyPath: "\(keyPath)[\(index)]") else { return nil }
                items.append(value)
            }
            return .array(items)
        case .mapping(let mapping):
            var members: [String: JSONValue] = [:]
            var valid = true
            for (keyNode, valueNode) in mapping {
                guard enter(keyNode), enter(valueNode) else { return nil }
                guard let key = keyName(keyNode, parentPath: keyPath) else {
                    valid = false
                    continue
                }
                guard let value = jsonValue(valueNode, keyPath: keyPath + "." + key) else {
                    valid = false
                    continue
                }
                members[key] = value
            }
            return valid ? .object(members) : nil
        case .alias:
            report(node, keyPath: keyPath, "unresolved alias; define the anchor (&name) before using it")
            return nil
        }
    }

    // MARK: Helpers

    /// The pairs of a mapping node; a null node is an empty mapping when `emptyIsFine`, anything else is reported.
    mutating func mappingPairs(_ node: Node, keyPath: String, emptyIsFine: Bool) -> [(Node, Node)]? {
        if case .mapping(let mapping) = node { return mapping.map { ($0.key, $0.value) } }
        if emptyIsFine, node.isScalarNode, node.tagName == .null { return [] }
        let what = keyPath.isEmpty ? "the document" : "this key"
        report(node, keyPath: keyPath, "expected a mapping of keys to values for \(what), found \(Self.describe(node))")
        return nil
    }

    /// The text of a mapping key, or `nil` after reporting a key that is not a scalar.
    mutating func keyName(_ node: Node, parentPath: String) -> String? {
        if case .scalar(let scalar) = node { return scalar.string }
        report(node, keyPath: parentPath, "a key must be plain text, found \(Self.describe(node))")
        return nil
    }

    /// One entry of a mapping whose key is known: the key, its dotted path and the nodes.
    struct KnownEntry {
        var key: String
        var path: String
        var keyNode: Node
        var value: Node
    }

    /// The entries of a mapping item whose keys are among `validKeys`. A key that is not text or not known is
    /// reported and sets `valid` to false; `nil` when the node budget is spent (stop decoding the item).
    mutating func knownEntries(
        _ pairs: [(Node, Node)], keyPath: String, validKeys: [String], valid: inout Bool
    ) -> [KnownEntry]? {
        var entries: [KnownEntry] = []
        for (keyNode, valueNode) in pairs {
            guard enter(keyNode), enter(valueNode) else { return nil }
            guard let key = keyName(keyNode, parentPath: keyPath) else {
                valid = false
                continue
            }
            let path = keyPath + "." + key
            guard validKeys.contains(key) else {
                reportUnknownKey(keyNode, key: key, keyPath: path, validKeys: validKeys)
                valid = false
                continue
            }
            entries.append(KnownEntry(key: key, path: path, keyNode: keyNode, value: valueNode))
        }
        return entries
    }

    mutating func reportUnknownKey(_ node: Node, key: String, keyPath: String, validKeys: [String]) {
        if let suggestion = Suggestions.closest(to: key, among: validKeys) {
            report(node, keyPath: keyPath, "unknown key", suggestion: suggestion)
        } else if key == "<<" {
            report(node, keyPath: keyPath, "merge keys (<<) are not supported; write the keys out")
        } else {
            report(node, keyPath: keyPath,
                   "unknown key; the keys allowed here are " + validKeys.map { "'\($0)'" }.joined(separator: ", "))
        }
    }

    mutating func report(_ node: Node, keyPath: String, _ message: String, suggestion: String? = nil) {
        let mark = node.mark
        issues.append(ConfigurationIssue(
            file: file, line: mark?.line, column: mark?.column, keyPath: keyPath, message: message,
            suggestion: suggestion,
            excerpt: mark.flatMap { excerpts.excerpt(line: $0.line, column: $0.column) }))
    }

    /// Counts one node against the budget; `false` (after one report) once the budget is spent.
    mutating func enter(_ node: Node) -> Bool {
        guard !budgetExceeded else { return false }
        remainingNodes -= 1
        if remainingNodes >= 0 { return true }
        budgetExceeded = true
        report(node, keyPath: "",
               "the document expands to more than \(nodeBudget) values, most likely through nested "
                   + "aliases (*name); write the values out instead of aliasing them")
        return false
    }

    /// A short description of a node for "found …" messages.
    static func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar):
            switch node.tagName {
            case .null: return "an empty value"
            case .bool: return "the boolean \(scalar.string)"
            case .int, .float: return "the number \(scalar.string)"
            default:
                let text = scalar.string.count > 40 ? scalar.string.prefix(40) + "…" : scalar.string
                return "the text '\(text)'"
            }
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }
}

extension Node {
    /// The node's resolved tag (`tag:yaml.org,2002:int` and so on); a quoted scalar resolves to `str`.
    var tagName: Tag.Name { Tag.Name(rawValue: tag.rawValue) }

    /// Whether the node is a scalar (null included).
    var isScalarNode: Bool {
        if case .scalar = self { return true }
        return false
    }
}

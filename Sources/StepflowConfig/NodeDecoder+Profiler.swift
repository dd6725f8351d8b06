import StepflowCore
import Yams

/// `profiler.processes`: each item a named process group with its `match` criteria (docs/profiler.md).
extension NodeDecoder {
    /// The longest group name: it is the `group` label of every series of the group.
    static let maximumGroupNameLength = 64
    /// The most process groups: each adds 14 series.
    static let maximumProcessGroups = 256
    /// The longest criterion (a regex, user name or cgroup prefix).
    static let maximumCriterionLength = 1024

    mutating func decodeProcessGroups(_ node: Node, keyPath: String) -> [ProcessGroupConfig] {
        let groups = decodeNamedList(node, keyPath: keyPath, what: "process groups", kind: "process group", name: \.name) {
            decoder, item, itemPath in decoder.decodeProcessGroup(item, keyPath: itemPath)
        }
        if groups.count > Self.maximumProcessGroups {
            report(node, keyPath: keyPath, "lists \(groups.count) groups; at most \(Self.maximumProcessGroups) are allowed")
            return []
        }
        return groups
    }

    private mutating func decodeProcessGroup(_ node: Node, keyPath itemPath: String) -> (ProcessGroupConfig, Node?)? {
        guard let pairs = mappingPairs(node, keyPath: itemPath, emptyIsFine: false) else { return nil }
        var name: (String, Node)?
        var match: ProcessMatch?
        var trackChildren = false
        var valid = true
        guard let entries = knownEntries(pairs, keyPath: itemPath, validKeys: ConfigurationSchema.processGroupKeys, valid: &valid)
        else { return nil }
        for entry in entries {
            let (keyPath, valueNode) = (entry.path, entry.value)
            switch entry.key {
            case "name":
                guard case .text(let text)? = scalarValue(valueNode, as: .text, keyPath: keyPath) else {
                    valid = false
                    continue
                }
                let trimmed = text.trimmingWhitespace()
                guard !trimmed.isEmpty, trimmed.utf8.count <= Self.maximumGroupNameLength,
                    !trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
                else {
                    report(valueNode, keyPath: keyPath, "must be 1 to \(Self.maximumGroupNameLength) bytes of text, found '\(text.prefix(80))'")
                    valid = false
                    continue
                }
                name = (trimmed, valueNode)
            case "match":
                guard let decoded = decodeProcessMatch(valueNode, keyPath: keyPath) else {
                    valid = false
                    continue
                }
                match = decoded
            case "track_children":
                guard case .boolean(let flag)? = scalarValue(valueNode, as: .boolean, keyPath: keyPath) else {
                    valid = false
                    continue
                }
                trackChildren = flag
            default:
                break
            }
        }
        guard valid else { return nil }
        guard let (groupName, nameNode) = name else {
            report(node, keyPath: itemPath, "has no name; every process group needs one (it is the group label)")
            return nil
        }
        guard let match else {
            report(node, keyPath: itemPath, "has no match; give at least one of comm, exe, cmdline, user or cgroup")
            return nil
        }
        return (ProcessGroupConfig(name: groupName, match: match, trackChildren: trackChildren), nameNode)
    }

    private mutating func decodeProcessMatch(_ node: Node, keyPath: String) -> ProcessMatch? {
        guard let pairs = mappingPairs(node, keyPath: keyPath, emptyIsFine: false) else { return nil }
        var match = ProcessMatch()
        var valid = true
        guard let entries = knownEntries(pairs, keyPath: keyPath, validKeys: ConfigurationSchema.processMatchKeys, valid: &valid)
        else { return nil }
        for entry in entries {
            let (key, criterionPath, valueNode) = (entry.key, entry.path, entry.value)
            guard case .text(let text)? = scalarValue(valueNode, as: .text, keyPath: criterionPath) else {
                valid = false
                continue
            }
            guard !text.isEmpty, text.utf8.count <= Self.maximumCriterionLength else {
                report(valueNode, keyPath: criterionPath, "must be 1 to \(Self.maximumCriterionLength) bytes")
                valid = false
                continue
            }
            if ["comm", "exe", "cmdline"].contains(key) {
                do throws(MonitoringError) {
                    _ = try AnchoredRegex(text, what: "the pattern")
                } catch {
                    report(valueNode, keyPath: criterionPath, error.message)
                    valid = false
                    continue
                }
            }
            switch key {
            case "comm": match.comm = text
            case "exe": match.exe = text
            case "cmdline": match.cmdline = text
            case "user": match.user = text
            default: match.cgroup = text
            }
        }
        if valid && match.isEmpty {
            report(node, keyPath: keyPath, "is empty; give at least one of comm, exe, cmdline, user or cgroup")
            return nil
        }
        return valid ? match : nil
    }
}

import Foundation
import StepflowCore
import Yams

/// Reads the stepflow-monitor configuration from YAML and `STEPFLOW_MONITORING_*` environment variables.
///
/// Every problem is collected (unknown keys with a suggestion, wrong types, values out of range, a missing plugin
/// `path`, bad variables) and thrown together as one ``ConfigurationError`` whose issues name the file, line,
/// column and key path. `docs/configuration.md` lists every key.
public enum ConfigurationLoader {
    /// The ``LoadedConfiguration/source`` of the embedded default, also used as its file name in issues.
    public static let embeddedSourceName = "<embedded default config.yaml>"

    /// `STEPFLOW_MONITORING_*` variables that are not configuration keys and so are not reported as unknown:
    /// `STEPFLOW_MONITORING_CONFIG` names the configuration file for the CLI.
    public static let reservedEnvironmentVariables = ["STEPFLOW_MONITORING_CONFIG"]

    /// The repository's `config.yaml`, compiled into the binary.
    public static var embeddedDefaultYAML: String {
        String(decoding: PackageResources.config_yaml, as: UTF8.self)
    }

    /// Loads the file at `path`, or the embedded default when `path` is `nil`, then applies the environment.
    ///
    /// - Parameters:
    ///   - path: A YAML file; a relative path is taken from the working directory. An empty file means all defaults.
    ///   - environment: The variables to apply on top of the file; pass `[:]` to ignore the process environment.
    /// - Throws: ``ConfigurationError`` with every problem found in the file and in the environment.
    public static func load(
        path: String?,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigurationError) -> LoadedConfiguration {
        guard let path else {
            let configuration = try parse(yaml: embeddedDefaultYAML, file: embeddedSourceName, environment: environment)
            return LoadedConfiguration(configuration: configuration, source: embeddedSourceName, baseDirectory: nil)
        }
        let url = URL(fileURLWithPath: path)
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ConfigurationError(issues: [ConfigurationIssue(
                file: path, keyPath: "",
                message: "cannot read the configuration file (\(reason(path))); check the path, "
                    + "or leave the path out to run with the embedded default")])
        }
        guard let yaml = String(data: data, encoding: .utf8) else {
            throw ConfigurationError(issues: [ConfigurationIssue(
                file: path, keyPath: "", message: "the file is not UTF-8 text; save it as UTF-8")])
        }
        let baseDirectory = url.deletingLastPathComponent().standardizedFileURL.path
        let configuration = try parse(yaml: yaml, file: path, environment: environment, baseDirectory: baseDirectory)
        return LoadedConfiguration(configuration: configuration, source: path, baseDirectory: baseDirectory)
    }

    /// Parses YAML text, then applies `environment`.
    ///
    /// - Parameters:
    ///   - yaml: The document; empty text means all defaults.
    ///   - file: The name put into issues.
    ///   - environment: `STEPFLOW_MONITORING_*` variables to apply after the document; other variables are ignored.
    ///   - baseDirectory: where relative `alerts.rule_files` are looked up; the working directory when `nil`.
    /// - Throws: ``ConfigurationError`` with every problem found, in the document and in its rule files.
    public static func parse(
        yaml: String,
        file: String,
        environment: [String: String],
        baseDirectory: String? = nil
    ) throws(ConfigurationError) -> MonitoringConfiguration {
        let decoded = try decode(yaml: yaml, file: file)
        var configuration = decoded.configuration
        var issues = decoded.decoder.issues + EnvironmentOverrides.apply(environment, to: &configuration)
        let files = loadRuleFiles(configuration.alerts.ruleFiles, baseDirectory: baseDirectory, from: file)
        configuration.alerts.ruleFileRules = files.rules
        issues += files.issues
        var seen: [String: String] = [:]
        for rule in configuration.alerts.declaredRules {
            if let first = seen[rule.name] {
                issues.append(ConfigurationIssue(
                    file: rule.source.map(Self.fileOfSource), line: rule.source.flatMap(Self.lineOfSource),
                    keyPath: "rules", message: "the rule name '\(rule.name)' is already used at \(first); give each rule its own name"))
            }
            seen[rule.name] = rule.source ?? file
        }
        issues += tlsIssues(configuration, yaml: yaml, file: file)
        guard issues.isEmpty else { throw ConfigurationError(issues: issues) }
        return configuration
    }

    /// `http.tls` keys that only make sense together, each issue at the line of the key that is set.
    static func tlsIssues(_ configuration: MonitoringConfiguration, yaml: String, file: String) -> [ConfigurationIssue] {
        let tls = configuration.http.tls
        var problems: [(key: String, message: String)] = []
        if tls.certificate.isEmpty != tls.privateKey.isEmpty {
            problems.append((
                tls.certificate.isEmpty ? "private_key" : "certificate",
                "http.tls.certificate and http.tls.private_key go together: set both (HTTPS) or neither (plain HTTP)"))
        }
        if !tls.clientCA.isEmpty && tls.certificate.isEmpty {
            problems.append(("client_ca", "client certificates need HTTPS: set http.tls.certificate and http.tls.private_key too"))
        }
        guard !problems.isEmpty else { return [] }
        let root = try? YAMLComposer.compose(yaml, file: file).get()
        let excerpts = SourceExcerpt(source: yaml)
        return problems.map { problem in
            let mark = root?["http"]?["tls"]?[problem.key]?.mark
            return ConfigurationIssue(
                file: file, line: mark?.line, column: mark?.column,
                keyPath: "http.tls." + problem.key, message: problem.message,
                excerpt: mark.flatMap { excerpts.excerpt(line: $0.line, column: $0.column) })
        }
    }

    /// The alert rules a file declares, checked as the host checks them when it loads: `path` is a rule file (a
    /// mapping with only `rules:`) or a whole configuration (its `alerts.rules` and the rule files it names).
    ///
    /// - Throws: ``ConfigurationError`` with every problem found, each with its file, line and rule.
    public static func checkRules(path: String) throws(ConfigurationError) -> [AlertRule] {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ConfigurationError(issues: [ConfigurationIssue(
                file: path, keyPath: "", message: "cannot read the file (\(reason(path))); check the path")])
        }
        let root: Node?
        switch YAMLComposer.compose(text, file: path) {
        case .success(let node): root = node
        case .failure(let error): throw error
        }
        if case .mapping(let mapping)? = root, mapping.count == 1, mapping.keys.first?.string == ConfigurationSchema.rulesKey {
            var decoder = NodeDecoder(file: path, source: text)
            let rules = decoder.decodeRuleFile(root)
            guard decoder.issues.isEmpty else { throw ConfigurationError(issues: decoder.issues) }
            return rules
        }
        return try load(path: path, environment: [:]).configuration.alerts.declaredRules
    }

    /// The rules of each rule file, and every problem found reading them.
    static func loadRuleFiles(
        _ paths: [String], baseDirectory: String?, from file: String
    ) -> (rules: [AlertRule], issues: [ConfigurationIssue]) {
        var rules: [AlertRule] = []
        var issues: [ConfigurationIssue] = []
        for (index, path) in paths.enumerated() {
            let resolved = path.hasPrefix("/")
                ? path
                : URL(fileURLWithPath: baseDirectory ?? FileManager.default.currentDirectoryPath)
                    .appendingPathComponent(path).standardizedFileURL.path
            guard let data = FileManager.default.contents(atPath: resolved), let text = String(data: data, encoding: .utf8) else {
                issues.append(ConfigurationIssue(
                    file: file, keyPath: "alerts.rule_files[\(index)]",
                    message: "cannot read the rule file \(resolved) (\(reason(resolved))); fix the path or remove it from rule_files"))
                continue
            }
            switch YAMLComposer.compose(text, file: resolved) {
            case .failure(let error):
                issues += error.issues
            case .success(let root):
                var decoder = NodeDecoder(file: resolved, source: text)
                rules += decoder.decodeRuleFile(root)
                issues += decoder.issues
            }
        }
        return (rules, issues)
    }

    static func fileOfSource(_ source: String) -> String {
        guard let colon = source.lastIndex(of: ":"), Int(source[source.index(after: colon)...]) != nil else { return source }
        return String(source[..<colon])
    }

    static func lineOfSource(_ source: String) -> Int? {
        source.lastIndex(of: ":").flatMap { Int(source[source.index(after: $0)...]) }
    }

    /// The document's configuration and the decoder that walked it (whose issues the caller reports); throws only
    /// when the text is not YAML.
    static func decode(
        yaml: String, file: String
    ) throws(ConfigurationError) -> (configuration: MonitoringConfiguration, decoder: NodeDecoder) {
        let root: Node?
        switch YAMLComposer.compose(yaml, file: file) {
        case .success(let node): root = node
        case .failure(let error): throw error
        }
        var decoder = NodeDecoder(file: file, source: yaml)
        let configuration = decoder.decode(root)
        return (configuration, decoder)
    }

    /// The configuration rendered as YAML (every key, plugins included), as `stepflow-monitor check-config` prints
    /// it. Parsing the result gives back `configuration`.
    /// A duration written as in the configuration (`500ms`, `30s`, `5m`, `1h30m`, or seconds), or `nil`; for
    /// command-line options that take durations.
    public static func parseDuration(_ text: String) -> Duration? {
        if case .success(let duration) = DurationParser.parse(text) { return duration }
        return nil
    }

    /// A duration as the configuration writes it (`5m`, `1h30m`, `250ms`).
    public static func formatDuration(_ duration: Duration) -> String {
        DurationParser.format(duration)
    }

    /// The grammar of durations, for error messages.
    public static let durationGrammar = DurationParser.grammar

    public static func render(_ configuration: MonitoringConfiguration) -> String {
        ConfigurationRenderer.render(configuration)
    }

    /// Why a file could not be read, in words a user can act on.
    private static func reason(_ path: String) -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return "no such file" }
        if isDirectory.boolValue { return "it is a directory" }
        return "it is not readable"
    }
}

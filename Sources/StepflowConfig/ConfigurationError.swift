/// One problem found in a configuration file or in a `STEPFLOW_MONITORING_*` environment variable.
///
/// Its ``description`` is one line that names where the problem is and what to do, for example
/// `config.yaml:12:5: metrics.colection_interval: unknown key (did you mean 'collection_interval'?)`.
public struct ConfigurationIssue: Sendable, Hashable, CustomStringConvertible {
    /// The file the problem is in, as given to the loader; `nil` when it comes from an environment variable.
    public var file: String?
    /// The 1-based line of the offending node, when known.
    public var line: Int?
    /// The 1-based column (counted in Unicode scalars) of the offending node, when known.
    public var column: Int?
    /// The environment variable the problem comes from, if any.
    public var environmentVariable: String?
    /// Where in the configuration the problem is, such as `metrics.collection_interval` or `plugins[1].path`;
    /// empty for a problem with the document as a whole (a syntax error, for instance).
    public var keyPath: String
    /// What is wrong and what to do about it.
    public var message: String
    /// The key or variable name the user probably meant, when a close one exists.
    public var suggestion: String?
    /// The offending source line with a caret under the column, when the problem has a position in a file.
    public var excerpt: String?

    /// Creates an issue; see the properties for what each argument means.
    public init(
        file: String?,
        line: Int? = nil,
        column: Int? = nil,
        environmentVariable: String? = nil,
        keyPath: String,
        message: String,
        suggestion: String? = nil,
        excerpt: String? = nil
    ) {
        self.file = file
        self.line = line
        self.column = column
        self.environmentVariable = environmentVariable
        self.keyPath = keyPath
        self.message = message
        self.suggestion = suggestion
        self.excerpt = excerpt
    }

    /// `file:line:column: key.path: message (did you mean 'x'?)`, or `$VARIABLE: key.path: message` for a variable.
    public var description: String {
        var parts: [String] = []
        if let environmentVariable {
            parts.append("$" + environmentVariable)
        } else {
            var location = file ?? "<configuration>"
            if let line {
                location += ":\(line)"
                if let column { location += ":\(column)" }
            }
            parts.append(location)
        }
        if !keyPath.isEmpty { parts.append(keyPath) }
        var text = message
        if let suggestion { text += " (did you mean '\(suggestion)'?)" }
        parts.append(text)
        return parts.joined(separator: ": ")
    }
}

/// Everything wrong with a configuration: the loader collects every issue before it throws.
public struct ConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The problems, in document order, followed by those from environment variables.
    public var issues: [ConfigurationIssue]

    /// Wraps the given issues.
    public init(issues: [ConfigurationIssue]) {
        self.issues = issues
    }

    /// One line per issue.
    public var description: String {
        issues.map(\.description).joined(separator: "\n")
    }

    /// One line per issue, each followed by its source excerpt when it has one; what a CLI prints.
    public var detailedDescription: String {
        issues.map { issue in
            guard let excerpt = issue.excerpt else { return issue.description }
            let indented = excerpt.split(separator: "\n", omittingEmptySubsequences: false)
                .map { "    " + $0 }
                .joined(separator: "\n")
            return issue.description + "\n" + indented
        }.joined(separator: "\n")
    }
}

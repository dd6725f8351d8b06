import Foundation

/// The real peers some tests run (promtool, Prometheus, Alertmanager). A test that needs one is enabled when the
/// tool is installed, and always under CI (`CI=true`), where `.ci/run` installs every one: there a missing tool
/// fails the test instead of skipping it. Elsewhere a test whose tool is missing is reported as skipped, never as
/// passed.
public enum ExternalTool {
    /// Whether this is CI's run.
    public static let isCI = ProcessInfo.processInfo.environment["CI"] == "true"

    /// The tool's path on `PATH`, if installed.
    public static func path(_ name: String) -> String? { ChildProcess.find(name) }

    /// For `.enabled(if:)`: whether a test needing all of `names` should run.
    public static func runnable(_ names: String...) -> Bool {
        isCI || names.allSatisfy { path($0) != nil }
    }

    /// What to tell the user about a missing tool: the Debian package that brings it.
    public static func missing(_ name: String, package: String) -> String {
        "\(name) is not installed (apt-get install \(package)); CI installs it with .ci/run"
    }
}

import Testing

extension ExternalTool {
    /// For a check inside a larger test: the tool's path, or `nil` after recording that it is missing — a
    /// failure under CI, a known issue (shown, not hidden) elsewhere.
    public static func require(_ name: String, package: String, sourceLocation: SourceLocation = #_sourceLocation) -> String? {
        if let found = path(name) { return found }
        if isCI {
            Issue.record(Comment(rawValue: missing(name, package: package)), sourceLocation: sourceLocation)
        } else {
            withKnownIssue(Comment(rawValue: missing(name, package: package))) {
                Issue.record(Comment(rawValue: "\(name) missing: this part of the test did not run"), sourceLocation: sourceLocation)
            }
        }
        return nil
    }
}

import Foundation
import StepflowTestSupport
import StepflowConfig
import StepflowCore

/// The repository root, found from this file's path.
let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// Reads a file of the repository as text.
func repositoryFile(_ relativePath: String) throws -> String {
    try String(contentsOf: repositoryRoot.appendingPathComponent(relativePath), encoding: .utf8)
}

/// The issues `ConfigurationLoader.parse` reports for `yaml`, or an empty list when it succeeds.
func parseIssues(
    _ yaml: String, file: String = "config.yaml", environment: [String: String] = [:]
) -> [ConfigurationIssue] {
    do {
        _ = try ConfigurationLoader.parse(yaml: yaml, file: file, environment: environment)
        return []
    } catch {
        return error.issues
    }
}

/// A file in a fresh temporary directory holding `contents`, removed by the caller through `directory`.
struct TemporaryFile {
    let directory: URL
    let path: String

    init(name: String = "stepflow.yaml", contents: String) throws {
        directory = Scratch.rootURL
            .appendingPathComponent("stepflow-config-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let url = directory.appendingPathComponent(name)
        try contents.write(to: url, atomically: true, encoding: .utf8)
        path = url.path
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }
}

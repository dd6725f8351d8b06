import Foundation
import HummingbirdTesting
import Logging
import StepflowConfig
import StepflowRuntime
import StepflowSecurity
import StepflowTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A plugin library is checked before any of its code runs: file permissions and owners up to `/`, then its
/// `sha256` pin (docs/security.md, "Plugin files").
@Suite("Plugin files are verified before they are loaded")
struct PluginVerificationTests {
    let logger = Logger(label: "plugin-verification-tests")

    /// A copy of the example C collector in a fresh directory with mode `directoryMode`; the library gets `fileMode`.
    func library(_ directory: TemporaryDirectory, directoryMode: mode_t = 0o755, fileMode: mode_t = 0o644) throws -> String {
        let folder = directory.file("plugins")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let path = folder + "/libStepflowFilesystemCollector.so"
        try FileManager.default.copyItem(atPath: buildProductsDirectory + "/libStepflowFilesystemCollector.so", toPath: path)
        #expect(chmod(path, fileMode) == 0)
        #expect(chmod(folder, directoryMode) == 0)
        return path
    }

    /// Whether `/api/v1/plugins` shows the plugin loaded (its descriptor read; `pending` until its first run).
    func loaded(_ plugins: String) -> Bool {
        !plugins.contains(#""state":"refused""#) && plugins.contains(#""version":"1.0.0""#)
    }

    /// Starts a host with one plugin entry and returns what `/api/v1/plugins` and `/metrics` say.
    func start(_ directory: TemporaryDirectory, plugin: String, security: String = "") async throws -> (plugins: String, metrics: String) {
        try await withHost(directory, """
            http:
              enabled: false
            \(security)
            plugins:
              - name: fs
                path: \(plugin)
            """, logger: logger) { runtime in
            try await runtime.makeHTTPApplication().test(.router) { client in
                let plugins = try await client.execute(uri: "/api/v1/plugins", method: .get) { String(buffer: $0.body) }
                let metrics = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
                return (plugins, metrics)
            }
        }
    }

    @Test("a library writable by its group or by everyone, or in such a directory, is refused naming the file and the rule")
    func writableLibrariesAreRefused() async throws {
        for (fileMode, directoryMode, culprit) in [(mode_t(0o664), mode_t(0o755), "library"), (0o644, 0o777, "directory"), (0o646, 0o755, "library")] {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let plugin = try library(directory, directoryMode: directoryMode, fileMode: fileMode)
            let answer = try await start(directory, plugin: plugin)
            #expect(answer.plugins.contains(#""state":"refused""#), "\(answer.plugins)")
            #expect(answer.plugins.contains("the \(culprit) "), "\(answer.plugins)")
            #expect(answer.plugins.contains("chmod go-w"), "\(answer.plugins)")
            #expect(answer.metrics.contains(#"stepflow_plugin_load_failures_total{plugin="fs",reason="untrusted_file"} 1"#), "\(answer.metrics)")
        }
    }

    @Test("a world-writable directory with the sticky bit (as /tmp) is accepted; the check can be turned off")
    func stickyDirectoriesAndOptOut() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let sticky = try library(directory, directoryMode: 0o1777)
        #expect(loaded(try await start(directory, plugin: sticky).plugins))

        let other = try TemporaryDirectory()
        defer { other.remove() }
        let writable = try library(other, fileMode: 0o666)
        let answer = try await start(other, plugin: writable, security: "security:\n  verify_plugin_files: false")
        #expect(loaded(answer.plugins), "\(answer.plugins)")
    }

    /// chown needs root: elsewhere the test is reported as skipped; under CI (which runs as root) it always runs, so
    /// a non-root CI fails it rather than passing it silently.
    @Test("a library owned by a user neither root nor in plugin_owners is refused", .enabled(if: geteuid() == 0 || ExternalTool.isCI))
    func foreignOwnersAreRefused() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let plugin = try library(directory)
        try #require(chown(plugin, 4242, 4242) == 0, "chown needs root (errno \(errno))")
        let refused = try await start(directory, plugin: plugin)
        #expect(refused.plugins.contains("owned by user 4242"), "\(refused.plugins)")
        let allowed = try await start(directory, plugin: plugin, security: "security:\n  plugin_owners: \"4242\"")
        #expect(loaded(allowed.plugins), "\(allowed.plugins)")
    }

    @Test("a sha256 pin: the right digest loads; another is refused naming the expected and actual digests")
    func pins() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let plugin = try library(directory)
        let actual = try FileDigest.sha256(ofFileAt: plugin)
        let pinned = try await start(directory, plugin: plugin + "\n    sha256: \"sha256:\(actual)\"")
        #expect(loaded(pinned.plugins), "\(pinned.plugins)")

        let wrong = String(repeating: "0", count: 64)
        let refused = try await start(directory, plugin: plugin + "\n    sha256: \"\(wrong)\"")
        #expect(refused.plugins.contains(#""state":"refused""#))
        #expect(refused.plugins.contains("has SHA-256 \(actual), but its plugins entry pins \(wrong)"), "\(refused.plugins)")
        #expect(refused.metrics.contains(#"stepflow_plugin_load_failures_total{plugin="fs",reason="digest_mismatch"} 1"#))
    }
}

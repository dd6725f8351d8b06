import Foundation
import StepflowCore
import StepflowPluginHost
import StepflowSecurity

/// What a plugin library passes before any of its code runs, in the host or in a runner (docs/security.md, "Plugin
/// files"): the file checks of `security.verify_plugin_files`, then the `sha256` pin of its `plugins:` entry.
///
/// Both read the file the host is about to load (or to hand to a runner). The file checks ensure that only root and
/// the trusted owners can change it between this check and the load.
enum PluginVerification {
    static func verify(_ plugin: PluginConfig, resolvedPath: String, trust: LibraryTrust) throws(PluginError) {
        // A missing file is the loader's to report (it says where it looked).
        guard FileManager.default.fileExists(atPath: resolvedPath) else { return }
        if let problem = trust.violation(ofLibraryAt: resolvedPath) {
            throw PluginError(
                .untrustedFile, plugin: plugin.name, path: plugin.path, message: problem,
                hint: "see docs/security.md, \"Plugin files\"; security.verify_plugin_files: false turns the check off")
        }
        guard let expected = plugin.sha256 else { return }
        let actual: String
        do {
            actual = try FileDigest.sha256(ofFileAt: resolvedPath)
        } catch {
            throw PluginError(
                .digestMismatch, plugin: plugin.name, path: plugin.path,
                message: "cannot read \(resolvedPath) to check its sha256 pin: \(error.localizedDescription)")
        }
        guard actual == expected else {
            throw PluginError(
                .digestMismatch, plugin: plugin.name, path: plugin.path,
                message: "\(resolvedPath) has SHA-256 \(actual), but its plugins entry pins \(expected)",
                hint: "if the library was rebuilt on purpose, pin the new digest (stepflow-monitor plugins inspect prints it)")
        }
    }
}

import Foundation

/// Finds a plugin's shared library: an absolute path as given; a relative one beside the config file (or
/// in the working directory for the embedded default), then in the directory of the running executable,
/// which is where `swift build` puts the example plugins.
enum PluginPathResolver {
    static func resolve(_ path: String, configDirectory: String?) -> (resolved: String, tried: [String]) {
        if path.hasPrefix("/") { return (path, [path]) }
        var candidates: [String] = []
        let base = configDirectory ?? FileManager.default.currentDirectoryPath
        candidates.append(URL(fileURLWithPath: base).appendingPathComponent(path).standardizedFileURL.path)
        if let executableDirectory {
            candidates.append(URL(fileURLWithPath: executableDirectory).appendingPathComponent(path).standardizedFileURL.path)
        }
        let found = candidates.first { FileManager.default.fileExists(atPath: $0) }
        return (found ?? candidates[0], candidates)
    }

    static var executableDirectory: String? {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        guard executable.path != "/proc/self/exe" else { return nil }
        return executable.deletingLastPathComponent().path
    }
}

import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Where tests put their files: one directory per test process (`$TMPDIR/stepflow-tests-<pid>/`), removed when the
/// process exits, so a run leaves nothing behind in `/tmp` even where a test cannot delete what it made (a plugin
/// library still loaded, a fixture built once per process) or stops at a failed expectation.
public enum Scratch {
    /// The root, with a trailing slash: `Scratch.root + "name-" + UUID().uuidString`.
    public static var root: String { rootPath }

    /// ``root`` as a file URL.
    public static var rootURL: URL { URL(fileURLWithPath: rootPath, isDirectory: true) }

    private static let rootPath: String = {
        let path = NSTemporaryDirectory() + "stepflow-tests-\(getpid())/"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        atexit {
            try? FileManager.default.removeItem(atPath: NSTemporaryDirectory() + "stepflow-tests-\(getpid())")
        }
        return path
    }()
}

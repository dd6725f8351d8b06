import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Who a file on disk is: its device, inode, size and modification time. Two loads of the same path with the same
/// identity read the same bytes; a rebuilt or overwritten library has another.
public struct FileIdentity: Sendable, Hashable, CustomStringConvertible {
    public let device: UInt64
    public let inode: UInt64
    public let size: Int64
    public let modifiedNanoseconds: Int64

    /// The identity of the file at `path` now, or `nil` when it cannot be read.
    public init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        modifiedNanoseconds = Int64(info.st_mtim.tv_sec) &* 1_000_000_000 &+ Int64(info.st_mtim.tv_nsec)
    }

    public var description: String { "\(device):\(inode), \(size) bytes, modified \(modifiedNanoseconds) ns" }

    /// A short, file-name-safe digest of the identity.
    var token: String {
        String(format: "%llx-%llx-%llx-%llx", device, inode, UInt64(bitPattern: size), UInt64(bitPattern: modifiedNanoseconds))
    }
}

/// The private copies the host loads plugins from (docs/plugins.md, "Rebuilding a plugin"): a library is copied,
/// under its own name, into a directory only this process can write (mode 0700, removed at exit) and opened from
/// there. Overwriting, truncating or replacing the original file then changes nothing in the running code, and a
/// rebuilt library is a new file with a new identity. A C plugin's copy is unlinked as soon as it is open; a Swift
/// plugin's stays, since it is never unloaded and opening it again by name returns the same image.
enum PluginFileCopy {
    /// The process's private directory, made on first use.
    private static let directory: Result<String, CopyError> = {
        let path = NSTemporaryDirectory() + "stepflow-plugins-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        guard mkdir(path, 0o700) == 0 else {
            return .failure(CopyError(message: "cannot make \(path): \(String(cString: strerror(errno)))"))
        }
        atexit { PluginFileCopy.removeDirectory() }
        return .success(path)
    }()

    struct CopyError: Error {
        let message: String
    }

    /// A copy of `path` (whose identity is `identity`) in the private directory, under the file's own name (so
    /// that error messages and sonames name it).
    ///
    /// - Parameter shared: one copy per identity, reused by later loads (a Swift plugin, opened again by name); else
    ///   a copy of this load's own, safe to discard while another load of the same file goes on.
    static func copy(_ path: String, identity: FileIdentity, shared: Bool) throws(CopyError) -> String {
        let root = try directory.get()
        let folder = root + "/" + identity.token + (shared ? "" : "-" + UUID().uuidString)
        let target = folder + "/" + URL(fileURLWithPath: path).lastPathComponent
        if shared, access(target, F_OK) == 0 { return target }
        guard mkdir(folder, 0o700) == 0 || errno == EEXIST else {
            throw CopyError(message: "cannot make \(folder): \(String(cString: strerror(errno)))")
        }
        // Written under a temporary name, then renamed: a concurrent load never opens a half-written file.
        let partial = folder + "/.partial-" + UUID().uuidString
        do {
            try FileManager.default.copyItem(atPath: path, toPath: partial)
        } catch {
            throw CopyError(message: "cannot copy \(path) to \(folder): \(error.localizedDescription)")
        }
        guard rename(partial, target) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(partial)
            throw CopyError(message: "cannot move the copy of \(path) into place: \(reason)")
        }
        return target
    }

    /// Removes a copy once it is open (the mapping stays valid).
    static func discard(_ copy: String) {
        unlink(copy)
        rmdir(URL(fileURLWithPath: copy).deletingLastPathComponent().path)
    }

    private static func removeDirectory() {
        if case .success(let path) = directory { try? FileManager.default.removeItem(atPath: path) }
    }
}

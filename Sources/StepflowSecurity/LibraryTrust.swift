import Crypto
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The checks a plugin library passes before any of its code runs (docs/security.md, "Plugin files"): the file and
/// every directory above it are writable by no one but their owner (a directory with the sticky bit, such as
/// `/tmp`, excepted for the writable check), and each is owned by root or by one of `owners` (by default the host's
/// own user). Otherwise another local user could replace the code the host is about to run with its privileges.
public struct LibraryTrust: Sendable {
    /// Whether the checks run (`security.verify_plugin_files`).
    public var enabled: Bool
    /// The users allowed to own a plugin and the directories above it, besides root.
    public var owners: Set<UInt32>

    /// - Parameters:
    ///   - enabled: `security.verify_plugin_files`.
    ///   - owners: `security.plugin_owners` resolved; root is always allowed. Default: the host's effective user.
    public init(enabled: Bool = true, owners: Set<UInt32>? = nil) {
        self.enabled = enabled
        self.owners = (owners ?? [UInt32(geteuid())]).union([0])
    }

    /// Users named in `text` (comma-separated user names or numeric ids); empty means the host's user. Returns the
    /// first name that is neither a user of this system nor a number as the failure.
    public static func owners(from text: String) -> Result<Set<UInt32>, OwnerError> {
        var owners: Set<UInt32> = []
        for item in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !item.isEmpty {
            if let id = UInt32(item) {
                owners.insert(id)
            } else if let entry = getpwnam(item) {
                owners.insert(UInt32(entry.pointee.pw_uid))
            } else {
                return .failure(OwnerError(name: item))
            }
        }
        return .success(owners.isEmpty ? [UInt32(geteuid())] : owners)
    }

    /// A user name in `security.plugin_owners` that this system does not know.
    public struct OwnerError: Error, Sendable, CustomStringConvertible {
        public var name: String
        public var description: String { "'\(name)' is not a user of this system (nor a numeric user id)" }
    }

    /// Why the library at `path` must not be loaded, naming the file or directory and the rule; `nil` when it may.
    public func violation(ofLibraryAt path: String) -> String? {
        guard enabled else { return nil }
        var candidates = [path]
        if let real = realpath(path, nil) {
            candidates.append(String(cString: real))
            free(real)
        }
        for candidate in candidates {
            if let problem = check(candidate, isLibrary: true) { return problem }
            var directory = (candidate as NSString).deletingLastPathComponent
            while !directory.isEmpty {
                if let problem = check(directory, isLibrary: false) { return problem }
                if directory == "/" { break }
                directory = (directory as NSString).deletingLastPathComponent
            }
        }
        return nil
    }

    private func check(_ path: String, isLibrary: Bool) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }  // a missing file is reported by the loader
        let what = isLibrary ? "the library \(path)" : "the directory \(path)"
        let sticky = !isLibrary && info.st_mode & S_ISVTX != 0
        if !sticky, info.st_mode & (S_IWGRP | S_IWOTH) != 0 {
            let who = info.st_mode & S_IWOTH != 0 ? "every user" : "its group"
            return "\(what) is writable by \(who) (mode \(String(info.st_mode & 0o7777, radix: 8))): another user could "
                + "replace the code the host runs; chmod go-w it"
        }
        if !owners.contains(UInt32(info.st_uid)) {
            return "\(what) is owned by user \(info.st_uid), which is neither root nor one of security.plugin_owners "
                + "(\(owners.sorted().map(String.init).joined(separator: ", "))); chown it, or add the user there"
        }
        return nil
    }
}

/// SHA-256 digests of files (plugin pins: `plugins[].sha256`).
public enum FileDigest {
    /// The largest file hashed (a plugin library is a few megabytes).
    public static let maximumSize = 1 << 30

    /// The lower-case hex SHA-256 digest of the file at `path`, read in chunks.
    public static func sha256(ofFileAt path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CocoaError(.fileReadNoPermission, userInfo: [NSFilePathErrorKey: path])
        }
        defer { try? handle.close() }
        var hasher = Crypto.SHA256()
        var total = 0
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            total += chunk.count
            guard total <= maximumSize else { throw CocoaError(.fileReadTooLarge, userInfo: [NSFilePathErrorKey: path]) }
            hasher.update(data: chunk)
        }
        return TokenDigest.hex(bytes: Array(hasher.finalize()))
    }
}

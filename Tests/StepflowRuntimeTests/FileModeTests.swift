import Foundation
import StepflowTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The files the host creates get `security.file_mode` (0600 by default), whatever umask it was started with.
@Suite("Files the host creates are private")
struct FileModeTests {
    /// The permission bits of `path`.
    func mode(_ path: String) -> mode_t? {
        var info = stat()
        return stat(path, &info) == 0 ? info.st_mode & 0o777 : nil
    }

    @Test("the database, its WAL and shared memory, its lock and the exported log file are 0600, or file_mode", arguments: ["", "0640"])
    func createdFilesArePrivate(fileMode: String) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = directory.file("monitoring.sqlite")
        let export = directory.file("exported.ndjson")
        let path = try directory.write("config.yaml", """
            storage:
              path: \(database)
            http:
              port: 0
            logs:
              enable_export: true
              export_interval: 1s
              export_file: \(export)
            \(fileMode.isEmpty ? "" : "security:\n  file_mode: \"\(fileMode)\"")
            plugins: []
            """)
        // A permissive umask in the parent (022 is the usual default) must not leak into the host's files.
        let previous = umask(0o022)
        defer { umask(previous) }
        let host = try HostProcess(configPath: path)
        let port = try await host.waitForPort()
        #expect(await logExportHasRun(port))
        let stored = try await httpSend(port, "POST", "/api/v1/logs", body: #"{"logs": [{"level": "info", "message": "to export"}]}"#)
        #expect(stored.status == 200, "\(stored.body)")
        let expected: mode_t = fileMode.isEmpty ? 0o600 : 0o640
        let files = [database, database + "-wal", database + "-shm", database + ".lock", export]
        // The export file appears with the first export of the entry above.
        #expect(await eventually { files.allSatisfy { FileManager.default.fileExists(atPath: $0) } }, "\(host.log.text.suffix(2000))")
        for file in files {
            #expect(mode(file) == expected, "\(file): \(String(mode(file) ?? 0, radix: 8))")
        }
        host.process.terminate()
        host.process.waitUntilExit()
    }
}

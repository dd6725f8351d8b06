import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Running programs from tests: `cc`, `promtool`, the built `stepflow-monitor`.
///
/// Output is read with `read(2)`, retrying reads a signal interrupted. Foundation's `FileHandle` reads trap on
/// EINTR, and these tests receive signals (SIGCHLD from plugin runners, for one), which killed the test process.
public enum ChildProcess {
    /// Runs `executable` to completion, feeding `input` on its standard input; returns its exit status and its
    /// standard output and error, interleaved.
    public static func run(
        _ executable: String, _ arguments: [String], input: String = "", environment: [String: String]? = nil,
        currentDirectory: String? = nil
    ) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stdout
        try process.run()
        if !input.isEmpty { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try stdin.fileHandleForWriting.close()
        let output = readToEnd(stdout.fileHandleForReading.fileDescriptor)
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    /// ``run(_:_:input:environment:currentDirectory:)`` on a thread of its own, for async tests: waiting for a
    /// child on the Swift cooperative pool would take one of its threads (2 on a 2-core machine) from the host
    /// under test in the same process, and a child that talks to that host would then wait for it in vain.
    public static func runOffPool(
        _ executable: String, _ arguments: [String], input: String = "", environment: [String: String]? = nil,
        currentDirectory: String? = nil
    ) async throws -> (status: Int32, output: String) {
        try await offPool {
            try run(executable, arguments, input: input, environment: environment, currentDirectory: currentDirectory)
        }
    }

    /// Reads `descriptor` until end of file, handing each chunk to `body`.
    public static func readChunks(_ descriptor: Int32, _ body: (Data) -> Void) {
        var buffer = [UInt8](repeating: 0, count: 8192)
        while true {
            let count = read(descriptor, &buffer, buffer.count)
            if count > 0 {
                body(Data(buffer[0..<count]))
            } else if count < 0 && errno == EINTR {
                continue
            } else {
                return
            }
        }
    }

    /// Everything readable from `descriptor` until end of file.
    public static func readToEnd(_ descriptor: Int32) -> Data {
        var data = Data()
        readChunks(descriptor) { data.append($0) }
        return data
    }

    /// Starts `executable` in the background, its output discarded (a server, or a process a test observes).
    public static func start(_ executable: String, _ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// The processes whose parent is `pid`, read from /proc.
    public static func children(of pid: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> Int32? in
            guard let child = Int32(entry),
                let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == pid ? child : nil
        }
    }

    /// The first executable named `name` on `$PATH`.
    public static func find(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

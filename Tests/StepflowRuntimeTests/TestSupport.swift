import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The directory holding the build products (`stepflow-monitor`, the example plugin libraries): the
/// directory of the running test binary.
let buildProductsDirectory: String = {
    URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().path
}()

/// A fresh directory under the system temp dir.
struct TemporaryDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "stepflow-runtime-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { path + "/" + name }

    func write(_ name: String, _ text: String) throws -> String {
        let file = self.file(name)
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// A GET over real HTTP on 127.0.0.1.
func httpGet(_ port: Int, _ path: String) async throws -> (status: Int, body: String, contentType: String?) {
    let url = URL(string: "http://127.0.0.1:\(port)\(path)")!
    let (data, response) = try await URLSession.shared.data(from: url)
    let http = response as! HTTPURLResponse
    return (http.statusCode, String(decoding: data, as: UTF8.self), http.value(forHTTPHeaderField: "Content-Type"))
}

/// Polls `condition` until it holds or `seconds` pass.
func eventually(_ seconds: Double = 20, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return try await condition()
}

func findExecutable(_ name: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
}

/// Runs a program to completion, feeding `input`, and returns its exit status and combined output.
func runProcess(_ executable: String, _ arguments: [String], input: String = "", environment: [String: String]? = nil)
    throws -> (status: Int32, output: String)
{
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let stdin = Pipe()
    let stdout = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    process.standardError = stdout
    try process.run()
    stdin.fileHandleForWriting.write(Data(input.utf8))
    try stdin.fileHandleForWriting.close()
    let output = stdout.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: output, as: UTF8.self))
}

/// A configuration for tests: a temp database, a free port, short intervals, both example plugins.
func testConfigYAML(directory: TemporaryDirectory, extraPlugins: String = "") -> String {
    """
    storage:
      path: \(directory.file("monitoring.sqlite"))
    http:
      address: 127.0.0.1
      port: 0
    metrics:
      collection_interval: 1s
      flush_interval: 100ms
    health:
      check_interval: 1s
    scheduler:
      jitter: 0
    plugins:
      - name: system
        path: libStepflowSystemCollector.so
        interval: 1s
        timeout: 5s
      - name: filesystem
        path: libStepflowFilesystemCollector.so
        interval: 1s
        timeout: 5s
        settings:
          paths: "/,\(directory.path)"
    \(extraPlugins)
    """
}

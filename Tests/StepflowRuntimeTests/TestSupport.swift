import Foundation
import Logging
import ServiceLifecycle
import StepflowConfig
import StepflowRuntime
import StepflowTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif
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
        path = Scratch.root + "stepflow-runtime-tests-" + UUID().uuidString
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


func findExecutable(_ name: String) -> String? { ChildProcess.find(name) }

/// Runs a program to completion, feeding `input`, and returns its exit status and combined output.
func runProcess(_ executable: String, _ arguments: [String], input: String = "", environment: [String: String]? = nil)
    async throws -> (status: Int32, output: String)
{
    try await ChildProcess.runOffPool(executable, arguments, input: input, environment: environment)
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

/// Collects a child's output.
final class LogCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()

    func append(_ chunk: Data) {
        lock.lock()
        data.append(chunk)
        lock.unlock()
    }

    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: data, as: UTF8.self)
    }

    /// The port from the "HTTP API listening address=http://127.0.0.1:PORT" log line (or https://).
    var listeningPort: Int? {
        guard let range = text.range(of: #"https?://127\.0\.0\.1:(\d+)"#, options: .regularExpression) else { return nil }
        return Int(text[range].split(separator: ":").last!)
    }
}

/// A `stepflow-monitor run --config PATH` child with its combined output collected in ``log``; terminated when
/// the value goes if it still runs.
///
/// The output is read with `read(2)` on a thread of its own, retrying on EINTR: Foundation's
/// `FileHandle.availableData` traps on an interrupted read, which killed the test process.
final class HostProcess: @unchecked Sendable {
    let process = Process()
    let log = LogCollector()

    /// - Parameter launcher: a program and its arguments that start the host (e.g. `prlimit --fsize=…`).
    init(configPath: String, launcher: [String] = []) throws {
        let host = buildProductsDirectory + "/stepflow-monitor"
        if let program = launcher.first {
            process.executableURL = URL(fileURLWithPath: program)
            process.arguments = Array(launcher.dropFirst()) + [host, "run", "--config", configPath]
        } else {
            process.executableURL = URL(fileURLWithPath: host)
            process.arguments = ["run", "--config", configPath]
        }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let descriptor = output.fileHandleForReading.fileDescriptor
        let log = self.log
        Thread.detachNewThread {
            ChildProcess.readChunks(descriptor) { log.append($0) }
            withExtendedLifetime(output) {}
        }
    }

    deinit {
        guard process.isRunning else { return }
        // A crashed host may be held by the Swift backtracer it started: stop that first, or it outlives the test
        // as an orphan (165 MB each, never exiting once its target is gone).
        Self.killChildren(of: process.processIdentifier)
        process.terminate()
    }

    /// SIGKILLs every process whose parent is `pid` (read from /proc).
    static func killChildren(of pid: Int32) {
        for child in ChildProcess.children(of: pid) { kill(child, SIGKILL) }
    }
}

extension HostProcess {
    /// Waits until the host listens (up to 20 s) and returns its port; fails the test, with the host's output,
    /// when it does not.
    func waitForPort(sourceLocation: SourceLocation = #_sourceLocation) async throws -> Int {
        let log = self.log
        #expect(await eventually { log.text.contains("HTTP API listening") }, "\(log.text.suffix(3000))",
                sourceLocation: sourceLocation)
        return try #require(log.listeningPort, sourceLocation: sourceLocation)
    }
}

/// The directory of `stepflow_plugin.h`.
let pluginHeaderDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Sources/CStepflowPlugin/include").path

/// Compiles the C plugin source file `source` into `output` against the ABI header, or throws with cc's output.
func compileCPlugin(_ source: String, to output: String) throws {
    let compile = try ChildProcess.run("/usr/bin/env", ["cc", "-shared", "-fPIC", "-I", pluginHeaderDirectory, "-o", output, source])
    guard compile.status == 0 else { throw CompileError(description: "cc failed for \(source): \(compile.output)") }
}

struct CompileError: Error, CustomStringConvertible {
    var description: String
}

/// A request with a body over real HTTP on 127.0.0.1.
func httpSend(_ port: Int, _ method: String, _ path: String, body: String) async throws -> (status: Int, body: String) {
    var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
    request.httpMethod = method
    request.httpBody = Data(body.utf8)
    request.setValue("application/json", forHTTPHeaderField: "Content-Type")
    let (data, response) = try await URLSession.shared.data(for: request)
    return ((response as! HTTPURLResponse).statusCode, String(decoding: data, as: UTF8.self))
}

/// A JSON object from text, or a test failure.
func jsonObject(_ text: String) throws -> [String: Any] {
    guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
        throw CompileError(description: "not a JSON object: \(text)")
    }
    return object
}

/// Runs `runtime`'s services while `body` runs, then shuts them down gracefully and waits for them, whether
/// `body` returned or threw.
func whileRunning<Result>(
    _ runtime: MonitoringRuntime, logger: Logger, _ body: () async throws -> Result
) async throws -> Result {
    let group = ServiceGroup(services: runtime.serviceList, logger: logger)
    async let running: Void = group.run()
    let result: Result
    do {
        result = try await body()
    } catch {
        await group.triggerGracefulShutdown()
        try await running
        throw error
    }
    await group.triggerGracefulShutdown()
    try await running
    return result
}

/// A host on a fresh database in `directory`, configured by `yaml` (the rest of the file after `storage.path`),
/// whose services run while `body` runs and are stopped after it.
func withHost<Result>(
    _ directory: TemporaryDirectory, _ yaml: String, environment: [String: String] = [:], logger: Logger,
    _ body: (MonitoringRuntime) async throws -> Result
) async throws -> Result {
    let path = try directory.write("config.yaml", "storage:\n  path: \(directory.file("monitoring.sqlite"))\n" + yaml)
    // The test bundle is no runner: `isolation: process` plugins run in the built `stepflow-monitor`.
    let runtime = try await MonitoringRuntime(
        loaded: ConfigurationLoader.load(path: path, environment: environment), environment: environment, logger: logger,
        pluginRunner: buildProductsDirectory + "/stepflow-monitor")
    return try await whileRunning(runtime, logger: logger) { try await body(runtime) }
}

/// A Python that can import `modules` (comma-separated): `$STEPFLOW_OTEL_PYTHON` (CI makes a virtual environment
/// with the OpenTelemetry packages and Selenium, and sets it), else `python3`; `nil` when neither can.
func pythonImporting(_ modules: String) -> String? {
    let candidates = [ProcessInfo.processInfo.environment["STEPFLOW_OTEL_PYTHON"], ChildProcess.find("python3")]
    for case let candidate? in candidates where FileManager.default.isExecutableFile(atPath: candidate) {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: candidate)
        probe.arguments = ["-c", "import " + modules]
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { continue }
        probe.waitUntilExit()
        if probe.terminationStatus == 0 { return candidate }
    }
    return nil
}

/// ``withHost(_:_:environment:logger:_:)`` in a temporary directory of its own, removed afterwards.
func withHost<Result>(
    _ yaml: String, environment: [String: String] = [:], logger: Logger, _ body: (MonitoringRuntime) async throws -> Result
) async throws -> Result {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    return try await withHost(directory, yaml, environment: environment, logger: logger, body)
}

/// Runs `service` (a receiver the test's host talks to) while `body` runs, then shuts it down gracefully.
func whileServing<Result>(
    _ service: some Service, logger: Logger, _ body: () async throws -> Result
) async throws -> Result {
    let group = ServiceGroup(services: [service], logger: logger)
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        do {
            let result = try await body()
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        } catch {
            await group.triggerGracefulShutdown()
            try? await tasks.waitForAll()
            throw error
        }
    }
}

/// Waits (up to 20 s) until the host on `port` has run a log export job once. An exporter starts from the entries
/// written after its first run, so a test that wants its entries exported writes them after this.
func logExportHasRun(_ port: Int) async -> Bool {
    await eventually {
        let metrics = (try? await httpGet(port, "/metrics").body) ?? ""
        return metrics.split(separator: "\n").contains {
            $0.hasPrefix("stepflow_job_runs_total{") && $0.contains("export") && !$0.hasSuffix(" 0")
        }
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
func freeTCPPort() throws -> Int {
    let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard socketFD >= 0 else { throw CompileError(description: "socket: \(errno)") }
    defer { close(socketFD) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketFD, $0, length) == 0 && getsockname(socketFD, $0, &length) == 0 }
    }
    guard bound else { throw CompileError(description: "bind: \(errno)") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Starts `executable` with `arguments`, its output discarded: a server a test talks to (Prometheus,
/// Alertmanager). The caller stops it with ``stopServer(_:)``.
func startServer(_ executable: String, _ arguments: [String]) throws -> Process {
    try ChildProcess.start(executable, arguments)
}

/// Starts Prometheus on 127.0.0.1:`port` with the configuration file `config`, its database in `directory`, and
/// `extra` flags.
func startPrometheus(
    _ executable: String, config: String, directory: TemporaryDirectory, port: Int, extra: [String] = []
) throws -> Process {
    try startServer(executable, [
        "--config.file=\(config)", "--storage.tsdb.path=\(directory.file("tsdb"))",
        "--web.listen-address=127.0.0.1:\(port)",
    ] + extra)
}

/// Stops a server started by ``startServer(_:_:)`` and waits for it.
func stopServer(_ process: Process?) {
    guard let process, process.isRunning else { return }
    process.terminate()
    process.waitUntilExit()
}

/// The result vector of a Prometheus instant query on 127.0.0.1:`port` (empty when it fails).
func prometheusQuery(_ port: Int, _ expression: String) async throws -> [[String: Any]] {
    let encoded = expression.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? expression
    let body = try await httpGet(port, "/api/v1/query?query=\(encoded)").body
    let json = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
    return (json?["data"] as? [String: Any])?["result"] as? [[String: Any]] ?? []
}

/// The value of the first sample a Prometheus instant query returns, as Prometheus writes it.
func prometheusValue(_ port: Int, _ expression: String) async -> String? {
    ((try? await prometheusQuery(port, expression))?.first?["value"] as? [Any])?.last as? String
}

/// A TCP connection to 127.0.0.1:`port`, for requests whose every byte a test decides (Host, Origin, half-sent
/// heads). Reads time out after `timeout` seconds.
final class RawConnection {
    let descriptor: Int32
    /// Whether ``close()`` ran: the descriptor is closed exactly once (a second `close` of the same number could
    /// close whatever the process opened under it since, a database file or an event loop's socket).
    private var closed = false

    init(port: Int, timeout: Int = 10) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw CompileError(description: "socket: \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard connected else {
            _ = Glibc.close(descriptor)
            throw CompileError(description: "connect: \(errno)")
        }
        var limit = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close() }

    /// Closes the connection now (the peer sees it close); later calls do nothing.
    func close() {
        guard !closed else { return }
        closed = true
        _ = Glibc.close(descriptor)
    }

    func send(_ text: String) { send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) {
        var sent = 0
        while sent < bytes.count {
            let written = bytes[sent...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written <= 0 { return }
            sent += written
        }
    }

    /// Everything the server sends until it closes the connection or the read times out.
    func readAll() -> String {
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            data += buffer[..<count]
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Whether the server closed the connection (a read returns 0) within the read timeout.
    func closedByServer() -> Bool {
        var byte: UInt8 = 0
        while true {
            let count = recv(descriptor, &byte, 1, 0)
            if count == 0 { return true }
            if count < 0 { return false }
        }
    }
}

/// Sends one HTTP/1.1 request with exactly `headers` (and `Connection: close`) and returns the status and body.
func rawRequest(
    _ port: Int, _ method: String, _ path: String, headers: [String: String] = [:], body: String = ""
) async throws -> (status: Int, body: String) {
    try await offPool { try blockingRawRequest(port, method, path, headers: headers, body: body) }
}

/// ``rawRequest(_:_:_:headers:body:)`` on the calling thread: for threads that may block.
func blockingRawRequest(
    _ port: Int, _ method: String, _ path: String, headers: [String: String] = [:], body: String = ""
) throws -> (status: Int, body: String) {
    try blockingRawRequest(port, method, path, headers: headers, bytes: Array(body.utf8))
}

/// ``blockingRawRequest(_:_:_:headers:body:)`` with a body of any bytes (a protobuf, a Snappy block).
func blockingRawRequest(
    _ port: Int, _ method: String, _ path: String, headers: [String: String] = [:], bytes body: [UInt8]
) throws -> (status: Int, body: String) {
    let answer = try blockingRawExchange(port, method, path, headers: headers, bytes: body)
    return (answer.status, answer.body)
}

/// ``rawRequest(_:_:_:headers:body:)`` that also returns the response's headers (names lower-cased).
func rawExchange(
    _ port: Int, _ method: String, _ path: String, headers: [String: String] = [:], body: String = ""
) async throws -> (status: Int, headers: [String: String], body: String) {
    try await offPool { try blockingRawExchange(port, method, path, headers: headers, bytes: Array(body.utf8)) }
}

/// One raw HTTP/1.1 exchange on the calling thread: status, headers (names lower-cased) and body.
func blockingRawExchange(
    _ port: Int, _ method: String, _ path: String, headers: [String: String] = [:], bytes body: [UInt8]
) throws -> (status: Int, headers: [String: String], body: String) {
    let connection = try RawConnection(port: port)
    var head = "\(method) \(path) HTTP/1.1\r\n"
    var headers = headers
    if headers["Host"] == nil { headers["Host"] = "127.0.0.1:\(port)" }
    if !body.isEmpty || method == "POST" { headers["Content-Length"] = "\(body.count)" }
    headers["Connection"] = "close"
    for (name, value) in headers.sorted(by: { $0.key < $1.key }) { head += "\(name): \(value)\r\n" }
    connection.send(Array((head + "\r\n").utf8) + body)
    let answer = connection.readAll()
    let statusLine = answer.prefix { $0 != "\r" }
    let status = statusLine.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
    let split = answer.range(of: "\r\n\r\n")
    let bodyStart = split.map { answer[$0.upperBound...] } ?? ""
    var fields: [String: String] = [:]
    for line in (split.map { answer[..<$0.lowerBound] } ?? "").components(separatedBy: "\r\n").dropFirst() {
        guard let colon = line.firstIndex(of: ":") else { continue }
        fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    return (status, fields, String(bodyStart))
}

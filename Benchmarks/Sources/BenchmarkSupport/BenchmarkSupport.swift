import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// What the benchmark suites share: a scratch directory, running a program, and finding the C reference.

/// A new directory under this process's scratch root (`$TMPDIR/stepflow-bench-<pid>/`), which an `atexit` handler
/// deletes: a suite's databases (hundreds of MB for the 1M-entry queries) never outlive the run.
public func scratchDirectory() throws -> String {
    let path = scratchRoot + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

private let scratchRoot: String = {
    let path = NSTemporaryDirectory() + "stepflow-bench-\(getpid())/"
    atexit { try? FileManager.default.removeItem(atPath: NSTemporaryDirectory() + "stepflow-bench-\(getpid())") }
    return path
}()

/// Runs `executable` to completion; its exit status and its standard output and error, together.
public func runProgram(_ executable: String, _ arguments: [String]) -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    do { try process.run() } catch { return (-1, "\(error)") }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// Why a reference measurement is skipped.
public struct ReferenceMissing: Error, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}

/// `../shared/bench/sqlite_bench.c` beside the checkout, or `$STEPFLOW_SQLITE_BENCH_SOURCE`.
public func sqliteBenchSource() -> Result<String, ReferenceMissing> {
    let checkout = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    let source = ProcessInfo.processInfo.environment["STEPFLOW_SQLITE_BENCH_SOURCE"]
        ?? checkout.deletingLastPathComponent().appendingPathComponent("shared/bench/sqlite_bench.c").path
    guard FileManager.default.fileExists(atPath: source) else {
        return .failure(ReferenceMissing(description: "no \(source) (set STEPFLOW_SQLITE_BENCH_SOURCE)"))
    }
    return .success(source)
}

/// Compiles a C source with `cc -O2 … -lsqlite3` into `binary`.
public func compileSQLiteProgram(_ source: String, to binary: String) -> Result<String, ReferenceMissing> {
    let compiled = runProgram("/usr/bin/env", ["cc", "-O2", "-o", binary, source, "-lsqlite3"])
    guard compiled.status == 0 else { return .failure(ReferenceMissing(description: "cc: \(compiled.output)")) }
    return .success(binary)
}

/// A duration in seconds.
public func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

/// Runs a compiled `sqlite_bench` with `arguments` and returns its rows/s, from its line `  run 1: 123456 rows/s …`.
public func sqliteBenchRate(_ binary: String, _ arguments: [String]) -> Int {
    let result = runProgram(binary, arguments)
    guard result.status == 0, let line = result.output.split(separator: "\n").first(where: { $0.contains("run 1:") }),
        let rate = line.split(separator: " ").dropFirst(2).first.flatMap({ Int($0) })
    else { fatalError("sqlite_bench \(arguments.joined(separator: " ")) failed: \(result.output)") }
    return rate
}

/// Runs async work to completion from synchronous code (a suite's data setup), rethrowing its error.
public func awaitResult(_ work: @escaping @Sendable () async throws -> Void) throws {
    let outcome = Mutex<Result<Void, any Error>?>(nil)
    let done = DispatchSemaphore(value: 0)
    Task {
        do { try await work(); outcome.withLock { $0 = .success(()) } } catch { outcome.withLock { $0 = .failure(error) } }
        done.signal()
    }
    done.wait()
    try outcome.withLock { $0! }.get()
}

import Foundation
import StepflowCore
import StepflowPluginHost
import Synchronization

/// Compiles `ingest_plugin.c` (beside this file) with `cc` into a temp directory and creates instances of it.
///
/// The source ships in this folder rather than as a string so that it can be read and compiled by hand too:
/// `cc -shared -fPIC -I Sources/CStepflowPlugin/include -o /tmp/libingest_bench.so <this folder>/ingest_plugin.c`.
public enum IngestFixture {
    /// Why the plugin could not be built or loaded.
    public struct SetupError: Error, CustomStringConvertible {
        public let description: String
    }

    /// The root package's directory, from this file's path (`Benchmarks/Sources/IngestFixture/…`).
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    private static let built = Mutex<String?>(nil)

    /// The path of the compiled plugin; compiled on first use, once per process.
    public static func libraryPath() throws(SetupError) -> String {
        try built.withLock { path throws(SetupError) -> String in
            if let path { return path }
            let compiled = try compile()
            path = compiled
            return compiled
        }
    }

    /// The plugin's settings: `batches` × `count` samples per collection, through `emit_values` of series
    /// registered in `create` when `registered`, else through `emit_metrics`.
    static func settings(count: Int, batches: Int, registered: Bool) -> [String: JSONValue] {
        ["count": .string(String(count)), "batches": .string(String(batches)), "registered": .string(registered ? "1" : "0")]
    }

    /// Loads the plugin and creates an instance emitting `batches` × `count` samples per collection.
    public static func instance(count: Int = 1000, batches: Int = 1, registered: Bool = false) async throws -> PluginInstance {
        let library = try PluginLibrary.load(path: try libraryPath())
        return try await PluginInstance(
            library: library, name: "ingest_bench", settings: settings(count: count, batches: batches, registered: registered),
            sampleBudget: max(PluginInstance.defaultSampleBudget, count * batches))
    }

    /// The same plugin in a `stepflow-monitor plugin-runner` child (`isolation: process`). The runner is
    /// `$STEPFLOW_MONITOR_EXECUTABLE` (scripts/bench.sh builds it in release and sets it), else a
    /// `stepflow-monitor` beside the benchmark executable.
    public static func isolatedInstance(
        count: Int = 1000, batches: Int = 1, registered: Bool = false
    ) async throws -> IsolatedPluginInstance {
        let library = try PluginLibrary.load(path: try libraryPath())
        let runner = ProcessInfo.processInfo.environment["STEPFLOW_MONITOR_EXECUTABLE"]
            ?? URL(fileURLWithPath: IsolatedPluginInstance.currentExecutable).deletingLastPathComponent()
                .appendingPathComponent("stepflow-monitor").path
        guard FileManager.default.isExecutableFile(atPath: runner) else {
            throw SetupError(description: "no stepflow-monitor executable at \(runner); build it with "
                + "`swift build -c release --product stepflow-monitor` and set STEPFLOW_MONITOR_EXECUTABLE")
        }
        return try await IsolatedPluginInstance(
            info: library.info, name: "ingest_bench",
            settings: settings(count: count, batches: batches, registered: registered), runnerExecutable: runner)
    }

    private static func compile() throws(SetupError) -> String {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("ingest_plugin.c")
        let header = repositoryRoot.appendingPathComponent("Sources/CStepflowPlugin/include")
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("stepflow-ingest-bench-\(UUID().uuidString)")
        let output = directory.appendingPathComponent("libingest_bench.so")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["cc", "-O2", "-shared", "-fPIC", "-I", header.path, "-o", output.path, source.path]
            let errors = Pipe()
            process.standardError = errors
            try process.run()
            let message = errors.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw SetupError(description: "cc failed: " + String(decoding: message, as: UTF8.self))
            }
        } catch let error as SetupError {
            throw error
        } catch {
            throw SetupError(description: "could not compile \(source.path): \(error)")
        }
        return output.path
    }
}

/// One plugin instance shared by a benchmark's setup, body and teardown (package-benchmark's hooks return
/// nothing, so the state lives here).
public final class SharedInstance: Sendable {
    private let stored = Mutex<(any PluginCollector)?>(nil)

    public init() {}

    /// The instance `start` created.
    public var instance: any PluginCollector {
        get throws(IngestFixture.SetupError) {
            guard let instance = stored.withLock({ $0 }) else {
                throw IngestFixture.SetupError(description: "the benchmark's setup did not run")
            }
            return instance
        }
    }

    /// Creates the instance (benchmark setup), in-process or in a runner process.
    public func start(count: Int = 1000, batches: Int = 1, isolated: Bool = false, registered: Bool = false) async throws {
        let instance: any PluginCollector = isolated
            ? try await IngestFixture.isolatedInstance(count: count, batches: batches, registered: registered)
            : try await IngestFixture.instance(count: count, batches: batches, registered: registered)
        stored.withLock { $0 = instance }
    }

    /// Shuts the instance down (benchmark teardown).
    public func stop() async {
        let instance = stored.withLock { state -> (any PluginCollector)? in
            defer { state = nil }
            return state
        }
        await instance?.shutdown()
    }
}

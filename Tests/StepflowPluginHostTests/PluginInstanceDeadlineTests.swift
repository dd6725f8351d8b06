import Foundation
import StepflowCore
import StepflowPluginHost
import StepflowTestSupport
import Testing

/// A fixture whose collect blocks until the test creates its gate file: a "hung" plugin the test controls.
private struct HungPlugin {
    let instance: PluginInstance
    let gate: String

    init() async throws {
        gate = PluginFixtures.freshPath("gate")
        let library = try PluginLibrary.load(path: PluginFixtures.compiled().path("valid"))
        instance = try await PluginInstance(library: library, settings: ["gate": .string(gate)])
    }

    /// Starts a collection and waits until the C call is in flight.
    func startCollection() async throws -> Task<MetricBatch, any Error> {
        let task = Task { try await instance.collectMetrics() }
        let started = await eventually(60) { instance.isBusy }
        try #require(started, "the collection never started")
        return task
    }

    /// Lets the blocked C call return.
    func openGate() {
        #expect(FileManager.default.createFile(atPath: gate, contents: nil), "cannot create the gate file \(gate)")
    }

    /// Lets the blocked C call return, waits until it has, and destroys the instance.
    func release() async {
        openGate()
        _ = await eventually(60) { !instance.isBusy }
        await instance.shutdown()
        try? FileManager.default.removeItem(atPath: gate)
    }
}

@Suite("Calling a plugin that does not return before its deadline")
struct PluginInstanceDeadlineTests {
    @Test("cancelling the awaiting task returns timedOut at once while the C call keeps running")
    func cancellationReturnsTimedOut() async throws {
        let plugin = try await HungPlugin()
        let task = try await plugin.startCollection()
        task.cancel()
        let result = await task.result
        // The gate is still closed, so the C call cannot have returned: the task gave up on it.
        #expect(plugin.instance.isBusy)
        #expect(throws: PluginError.self) { try result.get() }
        #expect((result.failureValue as? PluginError)?.code == .timedOut)
        await plugin.release()
    }

    @Test("a call while the previous one is still running is refused as busy")
    func callWhileBusyIsRefused() async throws {
        let plugin = try await HungPlugin()
        let task = try await plugin.startCollection()
        task.cancel()
        _ = await task.result
        let error = await #expect(throws: PluginError.self) { _ = try await plugin.instance.collectMetrics() }
        #expect(error?.code == .busy)
        #expect(error?.message.contains("collect_metrics") == true)
        await plugin.release()
    }

    @Test("the instance is no longer busy once the stuck call returns, and can be called again")
    func callableAfterTheStuckCallReturns() async throws {
        let plugin = try await HungPlugin()
        let task = try await plugin.startCollection()
        task.cancel()
        _ = await task.result
        plugin.openGate()
        let idle = await eventually(60) { !plugin.instance.isBusy }
        #expect(idle)
        let metrics = try await plugin.instance.collectMetrics()
        #expect(metrics.map(\.name) == ["fixture_ok"])
        await plugin.release()
    }

    @Test("a call that is not cancelled waits for the plugin and returns its samples")
    func uncancelledCallWaits() async throws {
        let plugin = try await HungPlugin()
        let task = try await plugin.startCollection()
        plugin.openGate()
        let metrics = try await task.value
        #expect(metrics.map(\.name) == ["fixture_ok"])
        await plugin.release()
    }

    @Test("after shutdown every call is refused")
    func shutdownRefusesCalls() async throws {
        let library = try PluginLibrary.load(path: PluginFixtures.compiled().path("valid"))
        let instance = try await PluginInstance(library: library)
        await instance.shutdown()
        let error = await #expect(throws: PluginError.self) { _ = try await instance.collectMetrics() }
        #expect(error?.code == .unsupported)
    }
}

extension Result {
    /// The error of a failed result, else `nil`.
    fileprivate var failureValue: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}

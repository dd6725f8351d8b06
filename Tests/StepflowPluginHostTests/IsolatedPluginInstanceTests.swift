import Foundation
import Logging
import StepflowTestSupport
import StepflowCore
import StepflowPluginHost
import Testing

@Suite("A plugin in a runner process (isolation: process)")
struct IsolatedPluginInstanceTests {
    @Test(
        "both example plugins emit the same metric names in a runner as in-process",
        arguments: ["system", "filesystem"])
    func examplePluginsMatch(_ which: String) async throws {
        let path = which == "system" ? try PluginFixtures.systemCollector() : try PluginFixtures.filesystemCollector()
        let inProcess = try await PluginInstance(library: PluginLibrary.load(path: path))
        let inProcessNames = Set(try await inProcess.collectMetrics().map(\.name))
        await inProcess.shutdown()

        let isolated = try await RunnerFixtures.isolated(path)
        let isolatedNames = Set(try await isolated.collectMetrics().map(\.name))
        #expect(!isolatedNames.isEmpty)
        #expect(isolatedNames == inProcessNames)
        if isolated.info.listsMetricNames {
            #expect(Set(try await isolated.metricNames()).isSuperset(of: isolatedNames))
        }
        #expect(isolated.isolation == .process)
        #expect(isolated.restarts == 0)
        await isolated.shutdown()
        await #expect(throws: PluginError.self) { try await isolated.collectMetrics() }
    }

    @Test("the runner cuts a collection at the sample budget and reports the cut as over_budget")
    func runnerAppliesSampleBudget() async throws {
        let isolated = try await RunnerFixtures.isolated(
            PluginFixtures.filesystemCollector(), settings: ["paths": .string("/")], sampleBudget: 2)
        let metrics = try await isolated.collectMetrics()
        await isolated.shutdown()
        #expect(metrics.count == 2)
        #expect(isolated.refusedSamples[.overBudget] == 3)
    }

    @Test("the host survives 100 runner segfaults in a row, reports each with its signal and counts the restarts")
    func survivesCrashes() async throws {
        let instance = try await RunnerFixtures.isolated(
            RunnerFixtures.plugin(), settings: ["mode": "crash_on", "crash_on": 3])
        var crashes = 0
        var samples = 0
        while crashes < 100 {
            do throws(PluginError) {
                let metrics = try await instance.collectMetrics()
                #expect(metrics.map(\.name) == ["runner_fixture_calls"])
                samples += 1
            } catch {
                #expect(error.code == .crashed)
                #expect(error.message.contains("runner exited on signal 11 (SIGSEGV)"), "\(error)")
                crashes += 1
            }
            #expect(!instance.isBusy)
        }
        #expect(samples == 200)
        #expect(instance.restarts == 99)
        _ = try await instance.collectMetrics()  // no backoff in this test: the next call starts a runner

        #expect(instance.restarts == 100)
        await instance.shutdown()
    }

    @Test("abort and exit in the runner are reported with the signal or status", arguments: ["abort", "exit"])
    func reportsAbortAndExit(_ mode: String) async throws {
        let instance = try await RunnerFixtures.isolated(RunnerFixtures.plugin(), settings: ["mode": .string(mode)])
        let error = await #expect(throws: PluginError.self) { try await instance.collectMetrics() }
        #expect(error?.code == .crashed)
        let expected = mode == "abort" ? "runner exited on signal 6 (SIGABRT)" : "runner exited with status 3"
        #expect(error?.message.contains(expected) == true, "\(String(describing: error))")
        await instance.shutdown()
    }

    @Test("while the runner is in its restart backoff, calls fail at once saying when the next restart is")
    func failsFastInBackoff() async throws {
        let instance = try await RunnerFixtures.isolated(
            RunnerFixtures.plugin(), settings: ["mode": "abort"],
            restartPolicy: RunnerRestartPolicy(
                initialDelay: .seconds(60), maxDelay: .seconds(60), stableAfter: .seconds(300)))
        _ = try? await instance.collectMetrics()
        let error = await #expect(throws: PluginError.self) { try await instance.collectMetrics() }
        #expect(error?.code == .crashed)
        #expect(error?.message.contains("the next restart is in") == true, "\(String(describing: error))")
        #expect(error?.message.contains("SIGABRT") == true)
        #expect(instance.restarts == 0)
        await instance.shutdown()
    }

    @Test("a call past its deadline returns when cancelled, the runner is killed, and the next call works")
    func killsAtDeadline() async throws {
        let gate = PluginFixtures.freshPath("runner-gate")
        defer { try? FileManager.default.removeItem(atPath: gate) }
        let instance = try await RunnerFixtures.isolated(RunnerFixtures.plugin(), settings: ["gate": .string(gate)])
        let call = Task { try await instance.collectMetrics() }
        #expect(await eventually(10) { instance.isBusy })
        call.cancel()
        let outcome = await call.result
        guard case .failure(let failure) = outcome else {
            Issue.record("the abandoned call returned samples")
            return
        }
        #expect((failure as? PluginError)?.code == .timedOut)
        #expect(!instance.isBusy)

        #expect(FileManager.default.createFile(atPath: gate, contents: Data()))
        let metrics = try await instance.collectMetrics()
        #expect(metrics.first?.value == .gauge(1), "a new runner counts from its first call")
        #expect(instance.restarts == 1)
        await instance.shutdown()
    }

    @Test("the plugin's log lines, its stray stderr and even its stdout reach the host's log with plugin=<name>")
    func forwardsLogs() async throws {
        let (logger, records) = CapturingLogHandler.logger()
        let instance = try await RunnerFixtures.isolated(
            RunnerFixtures.plugin(), settings: ["mode": "log"], logger: logger)
        let metrics = try await instance.collectMetrics()
        #expect(metrics.map(\.name) == ["runner_fixture_calls"], "stdout output must not corrupt the frames")
        func logged(_ text: String, _ level: Logger.Level) -> Bool {
            records.all.contains {
                $0.message.contains(text) && $0.level == level && $0.metadata["plugin"] == "runner_fixture"
            }
        }
        #expect(
            await eventually(20) {
                logged("runner fixture says hello", .info) && logged("runner fixture: stray output", .warning)
                    && logged("runner fixture: printf to stdout", .warning)
            }, "\(records.all.map(\.message))")
        await instance.shutdown()
    }

    @Test("a create that fails in the runner shows the plugin's own message")
    func createFailure() async throws {
        let library = try PluginFixtures.compiled().path("create_fails")
        let error = await #expect(throws: PluginError.self) { try await RunnerFixtures.isolated(library) }
        #expect(error?.code == .createFailed)
        #expect(
            error?.message.contains("the fixture needs the setting 'token' (got none)") == true,
            "\(String(describing: error))")
    }

    @Test("limits.memory makes a large allocation fail in the runner, not in the host")
    func memoryLimit() async throws {
        let instance = try await RunnerFixtures.isolated(
            RunnerFixtures.plugin(), settings: ["mode": "malloc", "alloc_mb": 4096],
            limits: PluginLimits(memoryBytes: 2 << 30))
        let error = await #expect(throws: PluginError.self) { try await instance.collectMetrics() }
        #expect(error?.code == .callFailed)
        #expect(error?.message.contains("malloc refused the allocation") == true, "\(String(describing: error))")
        // The same allocation in the host (no limit) succeeds: the limit applied to the runner only.
        let block = malloc(4096 << 20)
        #expect(block != nil)
        free(block)
        await instance.shutdown()
    }

    @Test("a runner whose plugin reports STEPFLOW_ERR_NOMEM under limits.memory is recycled, and the fresh one works")
    func recycledOnOutOfMemory() async throws {
        // The default backoff (1 s after a first failure), on a clock the test moves.
        let clock = BackoffClock()
        let instance = try await RunnerFixtures.isolated(
            RunnerFixtures.plugin(), settings: ["mode": "leak", "alloc_mb": 200],
            limits: PluginLimits(memoryBytes: 1 << 30), restartPolicy: .default, clock: clock)
        var calls = 0
        var failure: PluginError?
        while failure == nil, calls < 20 {
            calls += 1
            do { _ = try await instance.collectMetrics() } catch { failure = error }
        }
        let error = try #require(failure, "20 calls of 200 MiB each never reached a 1 GiB limit")
        #expect(error.code == .outOfMemory, "\(error)")
        #expect(error.message.contains("STEPFLOW_ERR_NOMEM") && error.message.contains("the runner is restarted in"), "\(error)")
        // Within the backoff a call is refused at once, saying when the runner starts again.
        let waiting = await #expect(throws: PluginError.self) { try await instance.collectMetrics() }
        #expect(waiting?.message.contains("the next restart is in 1.0s") == true, "\(String(describing: waiting))")
        #expect(instance.restarts == 0)
        // Once it has passed, a fresh runner has its memory back: its first call succeeds.
        clock.advance(by: .seconds(1))
        let fresh = try await instance.collectMetrics()
        #expect(fresh.first?.value == .gauge(1))
        #expect(instance.restarts == 1)
        await instance.shutdown()
    }

    @Test("a runner whose calls fail recycle_after_failures times in a row is restarted with backoff")
    func recycledAfterFailures() async throws {
        let clock = BackoffClock()
        let instance = try await RunnerFixtures.isolated(
            RunnerFixtures.plugin(), settings: ["mode": "fail"], limits: PluginLimits(recycleAfterFailures: 3),
            restartPolicy: .default, clock: clock)
        for call in 1...3 {
            let error = await #expect(throws: PluginError.self) { try await instance.collectMetrics() }
            #expect(error?.code == .callFailed)
            #expect((error?.message.contains("3 calls in a row failed") == true) == (call == 3), "\(String(describing: error))")
        }
        let waiting = await #expect(throws: PluginError.self) { try await instance.collectMetrics() }
        #expect(waiting?.message.contains("the next restart is in 1.0s") == true, "\(String(describing: waiting))")
        #expect(instance.restarts == 0)
        clock.advance(by: .seconds(1))
        let next = await #expect(throws: PluginError.self) { try await instance.collectMetrics() }
        #expect(next?.code == .callFailed, "a fresh runner is called (and its plugin still fails)")
        #expect(instance.restarts == 1)
        await instance.shutdown()
    }

    @Test("a runner killed by the plugin's own thread after a call returned is reported then, as a crash between calls")
    func crashBetweenCalls() async throws {
        let (logger, records) = CapturingLogHandler.logger()
        let instance = try await RunnerFixtures.isolated(
            RunnerFixtures.plugin(), settings: ["mode": "thread_crash"],
            restartPolicy: RunnerRestartPolicy(initialDelay: .seconds(60), maxDelay: .seconds(60), stableAfter: .seconds(300)),
            logger: logger)
        let first = try await instance.collectMetrics()
        #expect(first.first?.value == .gauge(1), "the call itself succeeds")
        #expect(
            await eventually(10) {
                records.all.contains { $0.message == "plugin runner crashed between calls" && $0.level == .error }
            }, "\(records.all.map(\.message))")
        let logged = try #require(records.all.first { $0.message == "plugin runner crashed between calls" })
        #expect("\(logged.metadata["reason"] ?? "")".contains("SIGSEGV"))
        // The next call is not blamed for it: it fails at once in the backoff, naming the crash between calls.
        let error = await #expect(throws: PluginError.self) { try await instance.collectMetrics() }
        #expect(error?.code == .crashed)
        #expect(error?.message.contains("between calls") == true, "\(String(describing: error))")
        #expect(!records.all.contains { $0.message == "plugin runner crashed" }, "no call was blamed")
        await instance.shutdown()
    }
}

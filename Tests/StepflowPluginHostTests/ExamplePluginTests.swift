import StepflowCore
import StepflowPluginHost
import Testing

@Suite("The example system collector (Swift SDK)")
struct SystemCollectorTests {
    @Test("it loads and describes itself through the descriptor the SDK builds")
    func describesItself() throws {
        let library = try PluginLibrary.load(path: PluginFixtures.systemCollector())
        #expect(library.info.name == "system")
        #expect(library.info.version == "1.0.0")
        #expect(library.info.abiVersion == PluginABI.version)
        #expect(Int(library.info.structSize) == PluginABI.hostDescriptorSize)
        #expect(library.info.capabilities == .metricsCollector)
        #expect(library.info.defaultInterval == .seconds(15))
        #expect(library.info.listsMetricNames)
    }

    @Test("it reports load, memory, CPU time and uptime read from /proc")
    func collectsFromProc() async throws {
        let instance = try await PluginInstance(library: PluginLibrary.load(path: PluginFixtures.systemCollector()))
        let metrics = try await instance.collectMetrics()
        await instance.shutdown()

        func gauge(_ name: String) -> Double? {
            guard case .gauge(let value) = metrics.first(where: { $0.name == name })?.value else { return nil }
            return value
        }
        #expect(try #require(gauge("node_load1")) >= 0)
        #expect(try #require(gauge("node_memory_MemTotal_bytes")) > 1_000_000)
        #expect(try #require(gauge("node_memory_MemAvailable_bytes")) <= gauge("node_memory_MemTotal_bytes") ?? 0)
        #expect(try #require(gauge("node_uptime_seconds")) > 0)
        let idle = try #require(
            metrics.first { $0.name == "node_cpu_seconds_total" && $0.labels.contains(Label("mode", "idle")) })
        #expect(idle.labels.map(\.name) == ["cpu", "mode"])
        guard case .counter = idle.value else {
            Issue.record("node_cpu_seconds_total is \(idle.value.type), expected a counter")
            return
        }
        #expect(idle.help?.isEmpty == false)
        #expect(instance.refusedSamples.isEmpty)
    }

    @Test("the SDK registers the series it sees twice; later collections carry the same series through emit_values")
    func sdkRegistersSeries() async throws {
        let instance = try await PluginInstance(library: PluginLibrary.load(path: PluginFixtures.systemCollector()))
        func series(_ batch: MetricBatch) -> Set<String> {
            Set(batch.map { metric in metric.name + "{" + metric.labels.map { "\($0.name)=\($0.value)" }.joined(separator: ",") + "}" })
        }
        let first = try await instance.collectMetrics()
        #expect(instance.registeredSeriesCount == 0)  // seen once: sent whole
        let second = try await instance.collectMetrics()
        let registered = instance.registeredSeriesCount
        let third = try await instance.collectMetrics()
        await instance.shutdown()
        #expect(registered > 10)
        #expect(instance.registeredSeriesCount == registered)
        #expect(instance.refusedSamples.isEmpty)
        #expect(series(second) == series(first))
        #expect(series(third) == series(first))
        let load = try #require(third.first { $0.name == "node_load1" })
        #expect(load.help?.isEmpty == false)
        guard case .counter = try #require(third.first { $0.name == "node_cpu_seconds_total" }).value else {
            Issue.record("node_cpu_seconds_total arrived as another type through emit_values")
            return
        }
    }

    @Test("the names it lists are the names it emits")
    func listsTheNamesItEmits() async throws {
        let instance = try await PluginInstance(library: PluginLibrary.load(path: PluginFixtures.systemCollector()))
        let names = try await instance.metricNames()
        let emitted = Set(try await instance.collectMetrics().map(\.name))
        await instance.shutdown()
        #expect(Set(names) == emitted)
    }

    @Test("a missing procfs file fails the collection with the file's path, without crashing")
    func missingFileFails() async throws {
        let instance = try await PluginInstance(
            library: PluginLibrary.load(path: PluginFixtures.systemCollector()),
            settings: ["proc_path": .string("/nonexistent-procfs")])
        let error = await #expect(throws: PluginError.self) { try await instance.collectMetrics() }
        await instance.shutdown()
        #expect(error?.code == .callFailed)
        #expect(error?.message.contains("/nonexistent-procfs/loadavg") == true)
        #expect(error?.message.contains("STEPFLOW_ERR_UNAVAILABLE") == true)
    }

    @Test("an unknown setting is refused with the plugin's own message")
    func unknownSettingIsRefused() async throws {
        let library = try PluginLibrary.load(path: PluginFixtures.systemCollector())
        let error = await #expect(throws: PluginError.self) {
            _ = try await PluginInstance(library: library, settings: ["colour": .string("blue")])
        }
        #expect(error?.code == .createFailed)
        #expect(error?.message.contains("setting 'colour': unknown setting") == true)
    }
}

@Suite("The example filesystem collector (C)")
struct FilesystemCollectorTests {
    private func collect(_ settings: [String: JSONValue]) async throws -> [Metric] {
        let instance = try await PluginInstance(
            library: PluginLibrary.load(path: PluginFixtures.filesystemCollector()), settings: settings)
        do {
            let metrics = try await instance.collectMetrics()
            await instance.shutdown()
            return metrics.metrics
        } catch {
            await instance.shutdown()
            throw error
        }
    }

    @Test("it reports the size, free space and inodes of / by default")
    func reportsRoot() async throws {
        let metrics = try await collect([:])
        #expect(metrics.allSatisfy { $0.labels == [Label("mountpoint", "/")] })
        func value(_ name: String) throws -> Double {
            let metric = try #require(metrics.first { $0.name == name })
            guard case .gauge(let value) = metric.value else { throw PluginFixtures.SetupError(description: "\(name) is not a gauge") }
            return value
        }
        let size = try value("node_filesystem_size_bytes")
        #expect(size > 0)
        #expect(try value("node_filesystem_avail_bytes") <= size)
        #expect(try value("node_filesystem_free_bytes") <= size)
        #expect(try value("node_filesystem_files") >= value("node_filesystem_files_free"))
        #expect(metrics.first?.help == "Filesystem size in bytes.")
    }

    @Test("a path that cannot be read is skipped and the others are reported")
    func skipsUnreadablePath() async throws {
        let metrics = try await collect(["paths": .string("/, /nonexistent-mount")])
        #expect(Set(metrics.flatMap(\.labels)) == [Label("mountpoint", "/")])
        #expect(metrics.count == 5)
    }

    @Test("the collection fails, naming the path, when no configured path can be read")
    func failsWhenAllPathsFail() async throws {
        let error = await #expect(throws: PluginError.self) {
            _ = try await collect(["paths": .string("/nonexistent-mount")])
        }
        #expect(error?.code == .callFailed)
        #expect(error?.message.contains("/nonexistent-mount") == true)
    }

    @Test("a YAML list of paths is accepted")
    func acceptsList() async throws {
        let metrics = try await collect(["paths": .array([.string("/"), .string("/tmp")])])
        #expect(Set(metrics.flatMap(\.labels)) == [Label("mountpoint", "/"), Label("mountpoint", "/tmp")])
    }
}

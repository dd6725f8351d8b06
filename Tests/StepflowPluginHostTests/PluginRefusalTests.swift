import StepflowPluginHost
import Testing

@Suite("Refusing broken plugin libraries")
struct PluginRefusalTests {
    private func refusal(_ path: String) -> PluginError? {
        #expect(throws: PluginError.self) { _ = try PluginLibrary.load(path: path) }
    }

    @Test("a missing file is refused as notFound, naming the path")
    func missingFile() throws {
        let path = PluginFixtures.freshPath("missing.so")
        let error = refusal(path)
        #expect(error?.code == .notFound)
        #expect(error?.path == path)
        #expect(error?.description.contains(path) == true)
    }

    @Test("a file that is not a shared library is refused with dlerror's text")
    func notALibrary() throws {
        let error = refusal(try PluginFixtures.compiled().path("not_a_library"))
        #expect(error?.code == .openFailed)
        #expect(error?.message.contains("libnot_a_library.so") == true)
        #expect(error?.hint?.contains("not a shared library") == true)
    }

    @Test("an unresolved dependency is refused, naming the missing library")
    func unresolvedDependency() throws {
        let error = refusal(try PluginFixtures.compiled().path("needs_dep"))
        #expect(error?.code == .openFailed)
        #expect(error?.message.contains("libfixturedep.so") == true)
    }

    @Test("a library without the entry symbol is refused as missingSymbol")
    func missingEntry() throws {
        let error = refusal(try PluginFixtures.compiled().path("no_entry"))
        #expect(error?.code == .missingSymbol)
        #expect(error?.message.contains("stepflow_plugin_register") == true)
    }

    @Test("an entry that returns NULL is refused as registerFailed")
    func entryReturnsNull() throws {
        let error = refusal(try PluginFixtures.compiled().path("entry_null"))
        #expect(error?.code == .registerFailed)
    }

    @Test("an ABI version the host does not speak is refused, naming both versions")
    func abiMismatch() throws {
        let error = refusal(try PluginFixtures.compiled().path("abi99"))
        #expect(error?.code == .abiMismatch)
        #expect(error?.message.contains("ABI version 99") == true)
        #expect(error?.message.contains("ABI version \(PluginABI.version)") == true)
    }

    @Test("a descriptor smaller than the first published one is refused as descriptorTooSmall")
    func descriptorTooSmall() throws {
        let error = refusal(try PluginFixtures.compiled().path("too_small"))
        #expect(error?.code == .descriptorTooSmall)
        #expect(error?.message.contains("16 bytes") == true)
    }

    @Test("a NULL name is refused as invalidDescriptor")
    func nullName() throws {
        let error = refusal(try PluginFixtures.compiled().path("null_name"))
        #expect(error?.code == .invalidDescriptor)
        #expect(error?.message.contains("name is NULL") == true)
    }

    @Test("a metrics collector without collect_metrics is refused as invalidDescriptor")
    func missingFunctionPointer() throws {
        let error = refusal(try PluginFixtures.compiled().path("no_collect"))
        #expect(error?.code == .invalidDescriptor)
        #expect(error?.message.contains("collect_metrics") == true)
        #expect(error?.plugin == "fixture")
    }

    @Test("a create that fails carries the plugin's own message")
    func createFails() async throws {
        let library = try PluginLibrary.load(path: PluginFixtures.compiled().path("create_fails"))
        let error = await #expect(throws: PluginError.self) { _ = try await PluginInstance(library: library) }
        #expect(error?.code == .createFailed)
        #expect(error?.message.contains("the fixture needs the setting 'token' (got none)") == true)
        #expect(error?.message.contains("STEPFLOW_ERR_INVALID") == true)
        #expect(error?.description.contains("plugin 'fixture'") == true)
    }

    @Test("a collect that fails carries the plugin's own message")
    func collectFails() async throws {
        let library = try PluginLibrary.load(path: PluginFixtures.compiled().path("valid"))
        let instance = try await PluginInstance(library: library, settings: ["mode": .string("fail")])
        let error = await #expect(throws: PluginError.self) { _ = try await instance.collectMetrics() }
        await instance.shutdown()
        #expect(error?.code == .callFailed)
        #expect(error?.message.contains("the fixture's disk is on fire") == true)
    }
}

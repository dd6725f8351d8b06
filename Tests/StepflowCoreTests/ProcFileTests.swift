import StepflowCore
import Testing

@Suite("Reading /proc")
struct ProcFileTests {
    @Test("a /proc file is read to its end, past the first 4 KiB; a missing one is an error naming it")
    func readsToTheEnd() throws {
        #if os(Linux)
        let maps = try ProcFile.read("/proc/self/maps")
        #expect(maps.utf8.count > 4096, "this test process maps more than 4 KiB worth of lines")
        // The stack and the vDSO come last in the list.
        #expect(maps.contains("[stack]"))
        #expect(try ProcFile.read("/proc/stat").contains("\nbtime "))
        let error = #expect(throws: MonitoringError.self) { try ProcFile.read("/proc/self/no-such-file") }
        #expect(error?.message.contains("/proc/self/no-such-file") == true)
        #endif
    }
}

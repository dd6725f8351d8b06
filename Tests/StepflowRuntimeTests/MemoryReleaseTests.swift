import Foundation
import StepflowRuntime
import Testing

@Suite("Memory released after start-up")
struct MemoryReleaseTests {
    @Test("paging out read-only file mappings lowers the resident set, and the code runs on (faulted back in)")
    func releasesReadOnlyFilePages() throws {
        #if os(Linux)
        let before = try #require(MemoryReleaseJob.residentKilobytes())
        let released = MemoryReleaseJob.releaseReadOnlyFilePages()
        let after = try #require(MemoryReleaseJob.residentKilobytes())
        #expect(released > 0, "no mapping took MADV_PAGEOUT (a kernel older than 5.4?)")
        #expect(after < before, "RSS \(before) kB before, \(after) kB after")
        // The pages given back are read again on use: the test process keeps working.
        #expect(try JSONSerialization.jsonObject(with: Data(#"{"a": [1, 2]}"#.utf8)) is [String: Any])
        #endif
    }
}

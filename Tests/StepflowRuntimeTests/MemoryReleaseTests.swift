import Foundation
import StepflowCore
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
        // Every read-only file mapping, not only those within the first page of /proc/self/maps.
        let maps = try ProcFile.read("/proc/self/maps")
        let eligible = maps.split(separator: "\n").filter { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            return fields.count >= 6 && fields[5].hasPrefix("/") && !fields[1].contains("w")
        }
        #expect(eligible.count > 20)
        #expect(released == eligible.count, "\(released) of \(eligible.count) mappings took MADV_PAGEOUT")
        #expect(after < before, "RSS \(before) kB before, \(after) kB after")
        // The pages given back are read again on use: the test process keeps working.
        #expect(try JSONSerialization.jsonObject(with: Data(#"{"a": [1, 2]}"#.utf8)) is [String: Any])
        #endif
    }
}

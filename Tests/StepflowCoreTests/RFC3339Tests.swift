import Foundation
import StepflowCore
import Testing

@Suite("RFC 3339 times")
struct RFC3339Tests {
    @Test("a stored millisecond prints as itself, never one millisecond early; sub-millisecond times round as stored")
    func millisecondsPrintAsStored() {
        let base: Int64 = 1_796_424_258_000
        for offset in Int64(0)..<5_000 {
            let milliseconds = base + offset * 997
            let date = Date(unixMilliseconds: milliseconds)
            let text = date.rfc3339
            #expect(Date(rfc3339: text)?.unixMilliseconds == milliseconds, "\(milliseconds) printed as \(text)")
            #expect(text.hasSuffix(String(format: ".%03dZ", Int(milliseconds % 1000))), "\(milliseconds) printed as \(text)")
        }
        #expect(Date(timeIntervalSince1970: 1_796_424_258.9537).rfc3339.hasSuffix(":18.954Z"))
        #expect(Date(timeIntervalSince1970: 0).rfc3339 == "1970-01-01T00:00:00.000Z")
    }
}

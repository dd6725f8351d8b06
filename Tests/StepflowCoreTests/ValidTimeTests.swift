import Foundation
import StepflowCore
import Testing

@Suite("Times and durations that never trap")
struct ValidTimeTests {
    @Test("the valid range is the years 1970 to 9999, and conversions outside it give nil")
    func range() {
        #expect(ValidTime.contains(milliseconds: 0))
        #expect(ValidTime.contains(milliseconds: ValidTime.latestMilliseconds))
        #expect(!ValidTime.contains(milliseconds: -1))
        #expect(!ValidTime.contains(milliseconds: .max))
        #expect(ValidTime.date(unixMilliseconds: .min) == nil)
        #expect(ValidTime.date(unixSeconds: .nan) == nil)
        #expect(ValidTime.date(unixSeconds: .infinity) == nil)
        #expect(ValidTime.milliseconds(of: Date.distantFuture) != nil, "the year 4001 is in range")
        #expect(ValidTime.milliseconds(of: Date(timeIntervalSince1970: 1e15)) == nil)
    }

    @Test("clampedMilliseconds and milliseconds(clampingSeconds:) clamp instead of trapping")
    func clamping() {
        #expect(Duration.milliseconds(1500).clampedMilliseconds == 1500)
        #expect(Duration.seconds(Int64.max).clampedMilliseconds == .max)
        #expect(Duration.seconds(Int64.min).clampedMilliseconds == .min)
        #expect(Duration.milliseconds(clampingSeconds: .nan) == .zero)
        #expect(Duration.milliseconds(clampingSeconds: .infinity) == .milliseconds(ValidTime.latestMilliseconds))
        #expect(Duration.milliseconds(clampingSeconds: 0.0015) == .milliseconds(2))
    }
}

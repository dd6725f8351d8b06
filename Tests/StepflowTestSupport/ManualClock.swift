import Foundation
import Synchronization

/// A wall clock tests move by hand: pass `{ clock.now }` where a component takes a `now` closure.
public final class ManualClock: Sendable {
    private let current = Mutex(Date(timeIntervalSince1970: 1_800_000_000))

    public init() {}

    /// The time now, as far as the component under test knows.
    public var now: Date { current.withLock { $0 } }

    /// Moves the clock forward (or back, with a negative value).
    public func advance(by seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

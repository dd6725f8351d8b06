import Foundation

/// Polls `condition` until it holds or `seconds` of real time pass; returns whether it held. The one way the
/// tests wait for something to happen: never a fixed sleep. Between polls it yields a few times (so that tasks
/// woken by a test clock run) and then sleeps briefly.
public func eventually(
    _ seconds: Double = 20, _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))  // range: test literals
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        for _ in 0..<10 { await Task.yield() }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return try await condition()
}

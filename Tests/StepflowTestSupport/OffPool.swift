import Foundation

/// Runs blocking socket work on a thread of its own, never on the Swift cooperative pool: a test whose tasks block
/// there starves the in-process host of the threads it serves with (2 on this machine).
public func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try work() }) }
    }
}

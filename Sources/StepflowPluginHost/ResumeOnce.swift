import Synchronization

/// Resumes a checked continuation exactly once, whichever comes first: the result of the C call, or the
/// cancellation of the awaiting task. Either may also arrive before the continuation is installed.
final class ResumeOnce<Value: Sendable>: Sendable {
    typealias Continuation = CheckedContinuation<Result<Value, PluginError>, Never>

    private enum Phase {
        case waiting
        case installed(Continuation)
        case resolved(Result<Value, PluginError>)
        case finished
    }

    private let phase = Mutex<Phase>(.waiting)

    /// Hands over the continuation; resumes it at once if the outcome is already known.
    func install(_ continuation: Continuation) {
        let early: Result<Value, PluginError>? = phase.withLock { phase in
            switch phase {
            case .waiting:
                phase = .installed(continuation)
                return nil
            case .resolved(let outcome):
                phase = .finished
                return outcome
            case .installed, .finished:
                return nil
            }
        }
        if let early { continuation.resume(returning: early) }
    }

    /// Delivers an outcome; only the first one counts.
    func resume(with outcome: Result<Value, PluginError>) {
        let continuation: Continuation? = phase.withLock { phase in
            switch phase {
            case .waiting:
                phase = .resolved(outcome)
                return nil
            case .installed(let continuation):
                phase = .finished
                return continuation
            case .resolved, .finished:
                return nil
            }
        }
        continuation?.resume(returning: outcome)
    }
}

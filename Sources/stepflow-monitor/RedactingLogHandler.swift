import Logging
import StepflowCore
import StepflowSecurity

/// The host's own log (stderr) with secrets masked (docs/security.md, "Secrets"): the message and every metadata
/// value go through the configured ``Redactor`` before the wrapped handler writes them.
struct RedactingLogHandler: LogHandler {
    var wrapped: any LogHandler
    let redactor: Redactor

    func log(event: LogEvent) {
        var event = event
        event.message = "\(redactor.redact(event.message.description))"
        if let metadata = event.metadata { event.metadata = metadata.mapValues { redact($0) } }
        wrapped.log(event: event)
    }

    private func redact(_ value: Logger.MetadataValue) -> Logger.MetadataValue {
        switch value {
        case .string(let text): .string(redactor.redact(text))
        case .stringConvertible(let convertible): .string(redactor.redact(convertible.description))
        case .array(let values): .array(values.map(redact))
        case .dictionary(let members):
            .dictionary(Dictionary(uniqueKeysWithValues: members.map { key, member in
                (key, redactor.isSecret(key: key) ? .string(Redactor.mask) : redact(member))
            }))
        }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { wrapped[metadataKey: key] }
        set { wrapped[metadataKey: key] = newValue }
    }

    var metadata: Logger.Metadata {
        get { wrapped.metadata }
        set { wrapped.metadata = newValue }
    }

    var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set { wrapped.logLevel = newValue }
    }
}

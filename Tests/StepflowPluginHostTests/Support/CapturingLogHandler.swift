import Logging
import Synchronization

/// A swift-log handler that keeps every record, for tests that check what a plugin logged.
struct CapturingLogHandler: LogHandler {
    struct Record: Sendable {
        let level: Logger.Level
        let message: String
        let metadata: Logger.Metadata
    }

    /// Where the records go; shared by copies of the handler.
    final class Store: Sendable {
        private let records = Mutex<[Record]>([])
        var all: [Record] { records.withLock { $0 } }
        func append(_ record: Record) { records.withLock { $0.append(record) } }
    }

    let store: Store
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        store.append(Record(level: event.level, message: "\(event.message)", metadata: merged))
    }

    /// A logger writing into a fresh store.
    static func logger() -> (Logger, Store) {
        let store = Store()
        return (Logger(label: "test") { _ in CapturingLogHandler(store: store) }, store)
    }
}

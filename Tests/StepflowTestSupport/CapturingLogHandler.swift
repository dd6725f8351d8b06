import Logging
import Synchronization

/// A swift-log handler that keeps every record, for tests that check what a plugin logged.
public struct CapturingLogHandler: LogHandler {
    public struct Record: Sendable {
        public let level: Logger.Level
        public let message: String
        public let metadata: Logger.Metadata
    }

    /// Where the records go; shared by copies of the handler.
    public final class Store: Sendable {
        private let records = Mutex<[Record]>([])
        public var all: [Record] { records.withLock { $0 } }
        func append(_ record: Record) { records.withLock { $0.append(record) } }
    }

    let store: Store
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .trace

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        store.append(Record(level: event.level, message: "\(event.message)", metadata: merged))
    }

    /// A logger writing into a fresh store.
    public static func logger() -> (Logger, Store) {
        let store = Store()
        return (Logger(label: "test") { _ in CapturingLogHandler(store: store) }, store)
    }
}

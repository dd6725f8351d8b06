import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The `plugin-runner`'s log handler: one line per entry on stderr, `<level>\t<message> <metadata>`, which the
/// host parses back into a log entry of its own at the same level (``RunnerLogForwarder``).
public struct RunnerLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .trace

    private static let lock = Mutex(())

    /// Creates a handler; bootstrap it with `LoggingSystem.bootstrap { _ in RunnerLogHandler() }`.
    public init() {}

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = "\(event.level.rawValue)\t" + "\(event.message)".replacingNewlines()
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }.filter { $0.key != "plugin" }
        if !merged.isEmpty {
            line += " " + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
        line += "\n"
        Self.lock.withLock { _ in
            var text = line
            text.withUTF8 { bytes in _ = write(STDERR_FILENO, bytes.baseAddress, bytes.count) }
        }
    }
}

extension String {
    fileprivate func replacingNewlines() -> String {
        String(map { $0 == "\n" || $0 == "\r" ? " " : $0 })
    }
}

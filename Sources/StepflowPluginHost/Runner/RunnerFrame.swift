#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// One message between the host and a `stepflow-monitor plugin-runner` child, as it travels over a pipe:
/// `u32` little-endian payload length, `u8` message type, then the payload (see ``RunnerCodec``).
struct RunnerFrame: Sendable, Equatable {
    /// What a frame carries. Host → runner requests are below 0x80, runner → host replies at or above it.
    enum Kind: UInt8, Sendable {
        /// Host → runner: create the instance. Payload: name, settings (see ``RunnerCodec/createRequest``).
        case create = 0x01
        /// Host → runner: call `collect_metrics`. No payload.
        case collect = 0x02
        /// Host → runner: call `metric_names`. No payload.
        case metricNames = 0x03
        /// Host → runner: destroy the instance and exit. No payload, no reply.
        case shutdown = 0x04
        /// Host → runner: describe the plugin the runner loaded. No payload; answered with `descriptor`.
        case describe = 0x05
        /// Host → runner: call `export_logs`. Payload: the records; answered with `ok`.
        case exportLogs = 0x06
        /// Host → runner: call `send_notification`. Payload: the alert; answered with `ok`.
        case notify = 0x07
        /// Host → runner: call `send_acknowledgment`. Payload: alert id, user, message; answered with `ok`.
        case acknowledge = 0x08
        /// Runner → host: the request succeeded and has nothing to return.
        case ok = 0x81
        /// Runner → host: the request failed. Payload: code, message, hint.
        case error = 0x82
        /// Runner → host: the samples of one collection plus the refusal counts so far.
        case metrics = 0x83
        /// Runner → host: the plugin's metric names.
        case names = 0x84
        /// Runner → host: the plugin's validated descriptor (see ``RunnerCodec/descriptorReply(_:)``).
        case descriptor = 0x85
    }

    /// The largest payload either side accepts; a bigger length means a corrupt stream.
    static let maxPayload = 256 * 1024 * 1024

    var kind: Kind
    var payload: [UInt8]

    init(_ kind: Kind, payload: [UInt8] = []) {
        self.kind = kind
        self.payload = payload
    }

    /// The frame's bytes: header plus payload.
    var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(5 + payload.count)
        let length = UInt32(payload.count)
        for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: length >> UInt32(shift))) }
        out.append(kind.rawValue)
        out.append(contentsOf: payload)
        return out
    }
}

/// Why a frame could not be read or written.
enum RunnerIOFailure: Error, Sendable, Equatable {
    /// The other side closed the pipe (it exited) after `received` bytes of the frame.
    case endOfStream(received: Int)
    /// The wait was given up (the runner was killed or is being abandoned).
    case abandoned
    /// A system call failed.
    case system(String)
    /// The bytes are not a valid frame.
    case malformed(String)
}

/// Blocking frame I/O on a file descriptor. Only ever called on a dedicated thread or queue, never on the
/// Swift cooperative pool.
enum RunnerFrameIO {
    /// Writes a whole frame. `EPIPE` (the runner died) is reported as `endOfStream`; SIGPIPE must be ignored.
    static func write(_ frame: RunnerFrame, to fd: Int32) throws(RunnerIOFailure) {
        let bytes = frame.bytes
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { buffer in
                #if canImport(Glibc) || canImport(Musl)
                    Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                #else
                    Darwin.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                #endif
            }
            if written < 0 {
                if errno == EINTR { continue }
                if errno == EPIPE { throw .endOfStream(received: 0) }
                throw .system("write: \(String(cString: strerror(errno)))")
            }
            offset += written
        }
    }

    /// Reads one frame. `shouldAbandon` is polled every `pollInterval` ms while no data arrives, so a reader
    /// never waits forever on a pipe another process may still hold open; `-1` waits for data or end of file.
    static func read(
        from fd: Int32, pollInterval: Int32 = 100, shouldAbandon: () -> Bool = { false }
    ) throws(RunnerIOFailure) -> RunnerFrame {
        let header = try readExactly(5, from: fd, pollInterval: pollInterval, shouldAbandon: shouldAbandon)
        var length = 0
        for index in 0..<4 { length |= Int(header[index]) << (8 * index) }
        guard length <= RunnerFrame.maxPayload else {
            throw .malformed("a frame announces \(length) bytes, more than the limit of \(RunnerFrame.maxPayload)")
        }
        guard let kind = RunnerFrame.Kind(rawValue: header[4]) else {
            throw .malformed("unknown message type 0x\(String(header[4], radix: 16))")
        }
        let payload = try readExactly(length, from: fd, pollInterval: pollInterval, shouldAbandon: shouldAbandon)
        return RunnerFrame(kind, payload: payload)
    }

    private static func readExactly(
        _ count: Int, from fd: Int32, pollInterval: Int32, shouldAbandon: () -> Bool
    ) throws(RunnerIOFailure) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, pollInterval)
            if ready < 0 {
                if errno == EINTR { continue }
                throw .system("poll: \(String(cString: strerror(errno)))")
            }
            if ready == 0 {
                if shouldAbandon() { throw .abandoned }
                continue
            }
            let received = bytes.withUnsafeMutableBytes { buffer in
                #if canImport(Glibc) || canImport(Musl)
                    Glibc.read(fd, buffer.baseAddress! + offset, count - offset)
                #else
                    Darwin.read(fd, buffer.baseAddress! + offset, count - offset)
                #endif
            }
            if received < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw .system("read: \(String(cString: strerror(errno)))")
            }
            if received == 0 { throw .endOfStream(received: offset) }
            offset += received
        }
        return bytes
    }
}

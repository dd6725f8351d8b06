import CompressNIO
import Foundation
import Logging
import NIOCore
import StepflowCore

/// The built-in log exporter (`logs.export_file`): appends entries as NDJSON lines to a file, starts a new file
/// when it reaches `logs.rotation_size` (`logs.enable_rotation`), gzip-compresses the file it rotated
/// (`logs.enable_compression`), and keeps `logs.max_rotated_files` of them: `app.ndjson.1.gz` is the newest,
/// the oldest beyond the limit is deleted.
public actor FileLogExporter: LogExporter {
    public nonisolated let name: String
    public nonisolated let path: String
    private let rotationSize: Int?
    private let compress: Bool
    private let keep: Int
    private let logger: Logger
    private var handle: FileHandle?
    private var size = 0

    /// - Parameters:
    ///   - rotationSize: rotate past this many bytes, or `nil` never to rotate.
    ///   - keep: how many rotated files to keep.
    public init(path: String, rotationSize: Int?, compress: Bool, keep: Int, logger: Logger) {
        self.name = "file:" + path
        self.path = path
        self.rotationSize = rotationSize.map { max($0, 1) }
        self.compress = compress
        self.keep = max(keep, 1)
        self.logger = logger
    }

    /// A rotated file: `<path>.<n>`, with `.gz` when compressed.
    public nonisolated func rotatedPath(_ number: Int, compressed: Bool) -> String {
        "\(path).\(number)" + (compressed ? ".gz" : "")
    }

    public func exportLogsBatch(_ entries: [LogEntry]) async throws(MonitoringError) {
        do {
            var lines: [UInt8] = []
            for entry in entries {
                LogEntryJSON.write(entry, to: &lines)
                lines.append(0x0A)
                if let rotationSize, size + lines.count > rotationSize, size + lines.count > 0 {
                    // Never split a line across files: rotate before the line that would overflow.
                    let last = lines.lastIndex(of: 0x0A, before: lines.count - 1)
                    let head = last.map { Array(lines[...$0]) } ?? []
                    if !head.isEmpty { try write(head) }
                    if size > 0 { try rotate() }
                    lines = Array(lines[(last.map { $0 + 1 } ?? 0)...])
                }
            }
            if !lines.isEmpty { try write(lines) }
        } catch let error as MonitoringError {
            throw error
        } catch {
            throw .init(
                .exportFailed, "cannot write log entries to \(path): \(error)",
                hint: "check that the directory exists and is writable, and that the disk has room")
        }
    }

    private func write(_ bytes: [UInt8]) throws {
        let file = try open()
        try file.write(contentsOf: Data(bytes))
        size += bytes.count
    }

    private func open() throws -> FileHandle {
        if let handle { return handle }
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw MonitoringError(.exportFailed, "cannot create \(path)", hint: "check the directory's permissions")
            }
        }
        let opened = try FileHandle(forWritingTo: url)
        size = Int(try opened.seekToEnd())
        handle = opened
        return opened
    }

    /// Closes the current file, shifts the rotated ones (`.1` → `.2`, …), moves the current one to `.1`
    /// (compressed when asked) and deletes what is past the limit.
    private func rotate() throws {
        try handle?.close()
        handle = nil
        size = 0
        let files = FileManager.default
        for compressed in [true, false] {
            let oldest = rotatedPath(keep, compressed: compressed)
            if files.fileExists(atPath: oldest) { try files.removeItem(atPath: oldest) }
        }
        if keep > 1 {
            for number in stride(from: keep - 1, through: 1, by: -1) {
                for compressed in [true, false] {
                    let from = rotatedPath(number, compressed: compressed)
                    if files.fileExists(atPath: from) {
                        try files.moveItem(atPath: from, toPath: rotatedPath(number + 1, compressed: compressed))
                    }
                }
            }
        }
        let rotated = rotatedPath(1, compressed: false)
        try files.moveItem(atPath: path, toPath: rotated)
        guard compress else { return }
        do {
            try Self.gzip(rotated, to: rotatedPath(1, compressed: true))
            try files.removeItem(atPath: rotated)
        } catch {
            // The rotated file is kept uncompressed: no entry is lost over a compression failure.
            logger.error("cannot compress a rotated log file; it is kept uncompressed", metadata: ["file": "\(rotated)", "error": "\(error)"])
        }
    }

    /// Compresses `source` into `destination` (gzip), 1 MiB at a time.
    static func gzip(_ source: String, to destination: String) throws {
        guard let input = FileHandle(forReadingAtPath: source) else {
            throw MonitoringError(.exportFailed, "cannot read \(source) to compress it")
        }
        defer { try? input.close() }
        guard FileManager.default.createFile(atPath: destination, contents: nil),
            let output = FileHandle(forWritingAtPath: destination)
        else {
            throw MonitoringError(.exportFailed, "cannot create \(destination)")
        }
        defer { try? output.close() }
        let compressor = try ZlibCompressor(algorithm: .gzip)
        let allocator = ByteBufferAllocator()
        while true {
            let chunk = try input.read(upToCount: 1 << 20) ?? Data()
            var buffer = allocator.buffer(bytes: chunk)
            let flush: CompressNIOFlush = chunk.isEmpty ? .finish : .sync
            let compressed = try buffer.compressStream(with: compressor, flush: flush, allocator: allocator)
            try output.write(contentsOf: Data(compressed.readableBytesView))
            if chunk.isEmpty { break }
        }
    }
}

extension Array where Element == UInt8 {
    /// The index of the last `byte` before `end`, if any.
    fileprivate func lastIndex(of byte: UInt8, before end: Int) -> Int? {
        var index = end - 1
        while index >= 0 {
            if self[index] == byte { return index }
            index -= 1
        }
        return nil
    }
}

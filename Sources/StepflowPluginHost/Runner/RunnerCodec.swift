import Foundation
import StepflowCore

/// The payloads of ``RunnerFrame``s: little-endian integers, `f64` as IEEE-754 bits, strings as `u32` length plus
/// UTF-8 bytes. No JSON on the hot path.
///
/// The `metrics` reply, the hot path, has a codec of its own with a string table kept per runner
/// (``RunnerMetricsCodec``).
enum RunnerCodec {
    // MARK: Messages

    /// `create`: the instance name and its settings as text pairs.
    static func createRequest(name: String, settings: [(name: String, value: String)]) -> [UInt8] {
        var writer = Writer()
        writer.string(name)
        writer.u32(settings.count)
        for setting in settings {
            writer.string(setting.name)
            writer.string(setting.value)
        }
        return writer.bytes
    }

    static func decodeCreateRequest(_ bytes: [UInt8]) throws(RunnerCodecError) -> (
        name: String, settings: [(name: String, value: String)]
    ) {
        var reader = Reader(bytes)
        let name = try reader.string("instance name")
        let count = try reader.count("setting count", minimumBytesEach: 8)
        var settings: [(name: String, value: String)] = []
        settings.reserveCapacity(count)
        for _ in 0..<count {
            settings.append((try reader.string("setting name"), try reader.string("setting value")))
        }
        try reader.finish()
        return (name, settings)
    }

    /// `error`: a ``PluginError``'s code, message and hint (empty when none).
    static func errorReply(_ error: PluginError) -> [UInt8] {
        var writer = Writer()
        writer.string(error.code.description)
        writer.string(error.message)
        writer.string(error.hint ?? "")
        return writer.bytes
    }

    static func decodeErrorReply(_ bytes: [UInt8]) throws(RunnerCodecError) -> (
        code: PluginError.Code, message: String, hint: String?
    ) {
        var reader = Reader(bytes)
        let codeText = try reader.string("error code")
        let message = try reader.string("error message")
        let hint = try reader.string("error hint")
        try reader.finish()
        let code = PluginError.Code.all.first { $0.description == codeText } ?? .callFailed
        return (code, message, hint.isEmpty ? nil : hint)
    }

    /// `names`: a `u32` count and that many strings.
    static func namesReply(_ names: [String]) -> [UInt8] {
        var writer = Writer()
        writer.u32(names.count)
        for name in names { writer.string(name) }
        return writer.bytes
    }

    static func decodeNamesReply(_ bytes: [UInt8]) throws(RunnerCodecError) -> [String] {
        var reader = Reader(bytes)
        let count = try reader.count("name count", minimumBytesEach: 4)
        var names: [String] = []
        names.reserveCapacity(count)
        for _ in 0..<count { names.append(try reader.string("metric name")) }
        try reader.finish()
        return names
    }

    /// `descriptor`: the descriptor as the runner's `PluginLibrary` validated it.
    static func descriptorReply(_ info: PluginDescriptorInfo) -> [UInt8] {
        var writer = Writer()
        writer.string(info.name)
        writer.string(info.version)
        writer.string(info.description)
        writer.u32(info.abiVersion)
        writer.u32(info.structSize)
        writer.u64(info.capabilities.rawValue)
        writer.u64(UInt64(clamping: info.defaultInterval.clampedMilliseconds))
        writer.string(info.path)
        writer.string(info.resolvedPath)
        writer.u8(info.listsMetricNames ? 1 : 0)
        for list in [info.supportedFormats, info.supportedChannels] {
            writer.u32(list.count)
            for item in list { writer.string(item) }
        }
        return writer.bytes
    }

    static func decodeDescriptorReply(_ bytes: [UInt8]) throws(RunnerCodecError) -> PluginDescriptorInfo {
        var reader = Reader(bytes)
        let name = try reader.string("name")
        let version = try reader.string("version")
        let description = try reader.string("description")
        let abiVersion = try reader.u32("abi_version")
        let structSize = try reader.u32("struct_size")
        let capabilities = PluginCapabilities(rawValue: try reader.u64("capabilities"))
        let interval = try reader.u64("default interval")
        let path = try reader.string("path")
        let resolvedPath = try reader.string("resolved path")
        let listsMetricNames = try reader.u8("metric_names flag") != 0
        var lists: [[String]] = []
        for what in ["supported formats", "supported channels"] {
            let count = try reader.count(what, minimumBytesEach: 4)
            var items: [String] = []
            for _ in 0..<count { items.append(try reader.string(what)) }
            lists.append(items)
        }
        try reader.finish()
        return PluginDescriptorInfo(
            name: name, version: version, description: description, abiVersion: abiVersion, structSize: structSize,
            capabilities: capabilities, defaultInterval: .milliseconds(Int64(clamping: interval)), path: path,
            resolvedPath: resolvedPath, listsMetricNames: listsMetricNames, supportedFormats: lists[0],
            supportedChannels: lists[1])
    }

    // MARK: Primitives

    /// Appends values to a byte buffer.
    struct Writer {
        private(set) var bytes: [UInt8] = []

        mutating func u8(_ value: UInt8) { bytes.append(value) }

        mutating func reserve(_ capacity: Int) { bytes.reserveCapacity(capacity) }

        mutating func u32(_ value: Int) { u32(UInt32(truncatingIfNeeded: value)) }

        mutating func u32(_ value: UInt32) {
            withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
        }

        mutating func u64(_ value: UInt64) {
            withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
        }

        mutating func i64(_ value: Int64) { u64(UInt64(bitPattern: value)) }

        mutating func f64(_ value: Double) { u64(value.bitPattern) }

        mutating func string(_ value: String) {
            var value = value
            value.withUTF8 { utf8 in
                u32(utf8.count)
                bytes.append(contentsOf: utf8)
            }
        }
    }

    /// Reads values from a byte buffer, refusing truncated or oversized data.
    struct Reader {
        private let bytes: [UInt8]
        private var offset = 0
        init(_ bytes: [UInt8]) {
            self.bytes = bytes
        }

        private var remaining: Int { bytes.count - offset }

        mutating func u8(_ what: @autoclosure () -> String) throws(RunnerCodecError) -> UInt8 {
            guard remaining >= 1 else { throw RunnerCodecError("truncated \(what())") }
            defer { offset += 1 }
            return bytes[offset]
        }

        mutating func u32(_ what: @autoclosure () -> String) throws(RunnerCodecError) -> UInt32 {
            guard remaining >= 4 else { throw RunnerCodecError("truncated \(what())") }
            let start = offset
            offset += 4
            return bytes.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: start, as: UInt32.self)) }
        }

        mutating func u64(_ what: @autoclosure () -> String) throws(RunnerCodecError) -> UInt64 {
            guard remaining >= 8 else { throw RunnerCodecError("truncated \(what())") }
            let start = offset
            offset += 8
            return bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: start, as: UInt64.self)) }
        }

        mutating func i64(_ what: @autoclosure () -> String) throws(RunnerCodecError) -> Int64 {
            Int64(bitPattern: try u64(what()))
        }

        mutating func f64(_ what: @autoclosure () -> String) throws(RunnerCodecError) -> Double {
            Double(bitPattern: try u64(what()))
        }

        /// A `u32` element count, refused when the rest of the buffer cannot hold that many elements.
        mutating func count(_ what: @autoclosure () -> String, minimumBytesEach: Int) throws(RunnerCodecError) -> Int {
            let count = Int(try u32(what()))
            guard count <= remaining / max(1, minimumBytesEach) else {
                throw RunnerCodecError("\(what()) \(count) exceeds what the remaining \(remaining) bytes can hold")
            }
            return count
        }

        mutating func string(_ what: @autoclosure () -> String) throws(RunnerCodecError) -> String {
            let length = Int(try u32("length of \(what())"))
            guard length <= remaining else { throw RunnerCodecError("truncated \(what())") }
            defer { offset += length }
            guard
                let text = bytes[offset..<(offset + length)].withContiguousStorageIfAvailable({
                    String(validating: $0, as: UTF8.self)
                }) ?? String(validating: Array(bytes[offset..<(offset + length)]), as: UTF8.self)
            else {
                throw RunnerCodecError("\(what()) is not valid UTF-8")
            }
            return text
        }

        /// Refuses trailing bytes.
        func finish() throws(RunnerCodecError) {
            guard remaining == 0 else { throw RunnerCodecError("\(remaining) unexpected trailing bytes") }
        }
    }
}

/// A payload that does not decode: a protocol bug or a corrupt stream.
struct RunnerCodecError: Error, Sendable, Equatable, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

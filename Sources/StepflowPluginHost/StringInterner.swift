import Foundation
import StepflowCore

/// A bounded, per-instance cache from raw UTF-8 bytes to a `String` made from the same bytes earlier, so that
/// the names, label values and HELP texts a plugin repeats every collection are validated and allocated once.
///
/// Lookups are in two steps:
/// 1. Within one `emit_metrics` call, by address: a borrowed slice with the same pointer and length as one
///    already seen in the same call has the same bytes (the ABI keeps borrowed memory valid and unchanged for the
///    call), so a plugin passing the same `"device"` literal a thousand times costs one comparison each.
/// 2. Otherwise by content: a hash of the bytes, then a byte comparison with the cached string.
///
/// Each entry also records whether its bytes are a valid metric name and label name, and, for HELP texts, the
/// `metadata` dictionary built from it, so those are computed once too. When the cache holds
/// ``maxEntries`` strings or ``maxBytes`` bytes it is emptied and fills again: a plugin emitting ever new
/// values costs a cache miss per value, never unbounded memory.
struct StringInterner: Sendable {
    /// The most strings kept.
    static let maxEntries = 8192
    /// The most bytes of text kept.
    static let maxBytes = 1 << 20
    /// Longer strings are converted on every use and never cached.
    static let longestCached = MetricLimits.maxHelpBytes

    /// What is known about the bytes of a cached string.
    struct Flags: OptionSet, Sendable {
        let rawValue: UInt8
        /// `[a-zA-Z_:][a-zA-Z0-9_:]*`
        static let metricName = Flags(rawValue: 1)
        /// `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__`.
        static let labelName = Flags(rawValue: 2)
    }

    /// The outcome of a lookup.
    enum Lookup {
        /// A cached string, by index (valid until the next lookup, which may empty the cache).
        case cached(Int)
        /// A string too long to cache, converted just now.
        case uncached(String)
        /// The bytes are not valid UTF-8.
        case invalidUTF8
    }

    private struct Entry: Sendable {
        let hash: Int
        let string: String
        let flags: Flags
        var metadata: [String: JSONValue]?
    }

    /// One slot of the by-address table of the current call.
    private struct Recent: Sendable {
        var address: UInt = 0
        var length = 0
        var index: Int32 = 0
        var call: UInt32 = 0
    }

    private static let slotCount = 2 * maxEntries  // a power of two, at most half full
    private static let recentCount = 512  // a power of two

    private var entries: [Entry] = []
    private var slots: [Int32] = []  // index into `entries`, -1 when free
    private var recent: [Recent] = []
    private var bytes = 0
    private var call: UInt32 = 1

    /// Starts a new `emit_metrics` call: addresses seen in earlier calls are no longer trusted.
    mutating func beginCall() {
        call &+= 1
        if call == 0 {  // wrapped: forget every address rather than confuse an old call with this one
            for index in recent.indices { recent[index].call = 0 }
            call = 1
        }
    }

    /// The cached string at `index`.
    func string(at index: Int) -> String { entries[index].string }

    /// What is known about the cached string at `index`.
    func flags(at index: Int) -> Flags { entries[index].flags }

    /// The `metadata` of a sample whose HELP text is the cached string at `index`: `["help": .string(text)]`,
    /// built once per text.
    mutating func helpMetadata(at index: Int) -> [String: JSONValue] {
        if let metadata = entries[index].metadata { return metadata }
        let metadata: [String: JSONValue] = ["help": .string(entries[index].string)]
        entries[index].metadata = metadata
        return metadata
    }

    /// The string for `count` bytes at `base` (`count` > 0).
    mutating func lookup(_ base: UnsafePointer<UInt8>, count: Int) -> Lookup {
        let address = UInt(bitPattern: base)
        if recent.isEmpty { recent = Array(repeating: Recent(), count: Self.recentCount) }
        let recentSlot = Int(truncatingIfNeeded: (address >> 3) ^ (address >> 12) ^ UInt(count)) & (Self.recentCount - 1)
        let seen = recent[recentSlot]
        if seen.call == call, seen.address == address, seen.length == count {
            return .cached(Int(seen.index))
        }
        let buffer = UnsafeBufferPointer(start: base, count: count)
        guard count <= Self.longestCached else {
            guard let string = String(validating: buffer, as: UTF8.self) else { return .invalidUTF8 }
            return .uncached(string)
        }
        let hash = Self.hash(base, count: count)
        if slots.isEmpty { slots = Array(repeating: -1, count: Self.slotCount) }
        var slot = hash & (Self.slotCount - 1)
        while true {
            let index = Int(slots[slot])
            if index < 0 { break }
            // Read in place: copying the entry out would retain and release its string and dictionary.
            if entries[index].hash == hash, Self.equal(entries[index].string, buffer) {
                recent[recentSlot] = Recent(address: address, length: count, index: Int32(index), call: call)
                return .cached(index)
            }
            slot = (slot + 1) & (Self.slotCount - 1)
        }
        guard let string = String(validating: buffer, as: UTF8.self) else { return .invalidUTF8 }
        if entries.count == Self.maxEntries || bytes + count > Self.maxBytes {
            // Full: start again. Indices handed out so far are void, so are this call's addresses.
            entries.removeAll(keepingCapacity: true)
            for index in slots.indices { slots[index] = -1 }
            bytes = 0
            beginCall()
            slot = hash & (Self.slotCount - 1)
        }
        let index = entries.count
        entries.append(Entry(hash: hash, string: string, flags: Self.flags(of: buffer), metadata: nil))
        slots[slot] = Int32(index)
        bytes += count
        recent[recentSlot] = Recent(address: address, length: count, index: Int32(index), call: call)
        return .cached(index)
    }

    /// Whether `string` consists of exactly `bytes`.
    private static func equal(_ string: String, _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let contiguous = string.utf8.withContiguousStorageIfAvailable { utf8 in
            utf8.count == bytes.count && memcmp(utf8.baseAddress!, bytes.baseAddress!, bytes.count) == 0
        }
        // Every cached string was made from UTF-8 bytes, so it is contiguous; the fallback is for completeness.
        return contiguous ?? string.utf8.elementsEqual(bytes)
    }

    /// A fast, non-cryptographic hash of the bytes, eight at a time.
    private static func hash(_ base: UnsafePointer<UInt8>, count: Int) -> Int {
        let raw = UnsafeRawPointer(base)
        var hash: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(count)
        var offset = 0
        while offset + 8 <= count {
            hash = (hash ^ raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
            hash ^= hash >> 29
            offset += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while offset < count {
            tail |= UInt64(base[offset]) << shift
            shift += 8
            offset += 1
        }
        hash = (hash ^ tail) &* 0xC4CE_B9FE_1A85_EC53
        hash ^= hash >> 32
        return Int(truncatingIfNeeded: hash)
    }

    /// Which name rules the bytes satisfy.
    static func flags(of bytes: UnsafeBufferPointer<UInt8>) -> Flags {
        guard let first = bytes.first else { return [] }
        var metric = isLetter(first) || first == UInt8(ascii: "_") || first == UInt8(ascii: ":")
        var label = isLetter(first) || first == UInt8(ascii: "_")
        if bytes.count >= 2, bytes[0] == UInt8(ascii: "_"), bytes[1] == UInt8(ascii: "_") { label = false }
        for byte in bytes.dropFirst() where !(isLetter(byte) || isDigit(byte) || byte == UInt8(ascii: "_")) {
            label = false
            if byte != UInt8(ascii: ":") { metric = false }
            if !metric { break }
        }
        var flags: Flags = []
        if metric { flags.insert(.metricName) }
        if label { flags.insert(.labelName) }
        return flags
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z")
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }
}

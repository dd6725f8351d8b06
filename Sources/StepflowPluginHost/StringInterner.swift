import Foundation
import StepflowCore

/// A bounded, per-instance cache from raw UTF-8 bytes to a `String` made from the same bytes earlier, so that
/// the names, label values and HELP texts a plugin repeats every collection are validated and allocated once.
///
/// A lookup first tries the address: a slice with the pointer and length of one seen before (in this collection
/// or an earlier one) is compared byte for byte with the bytes cached then, a `memcmp` of a few bytes. Only when
/// that fails (new bytes, or a buffer the plugin reused for other text) is the content hashed and looked up.
/// Every cached string's bytes are kept in one arena for those comparisons.
///
/// Each entry also records whether its bytes are a valid metric name and label name, and where its string is in
/// the ``MetricBatch`` being built, so those are computed once too. When the cache holds ``maxEntries`` strings
/// or ``maxBytes`` bytes it is emptied and fills again: a plugin emitting ever new values costs a cache miss per
/// value, never unbounded memory.
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
        /// Longer than ``longestCached``: not cached, the caller makes the string (``uncachedString(_:count:)``).
        case tooLong
        /// The bytes are not valid UTF-8.
        case invalidUTF8
    }

    /// The string of bytes too long to cache, or `nil` when they are not valid UTF-8.
    static func uncachedString(_ base: UnsafePointer<UInt8>, count: Int) -> String? {
        String(validating: UnsafeBufferPointer(start: base, count: count), as: UTF8.self)
    }

    /// What is known of one cached string (the string itself is in `strings`, at the same index): plain data, so
    /// reading an entry never touches a reference count.
    private struct Entry: Sendable {
        let hash: UInt64
        let flags: Flags
        /// Where the string's bytes are in `arena`.
        let offset: Int32
        let length: Int32
        /// The string's index in the batch being built, valid when `batchStamp` equals `batchGeneration`.
        var batchSlot: UInt32 = 0
        var batchStamp: UInt32 = 0
    }

    /// One slot of the by-address table.
    private struct Recent: Sendable {
        var address: UInt = 0
        var length = 0
        var index: Int32 = -1
        /// The cache generation the index belongs to (indices are void once the cache is emptied).
        var generation: UInt32 = 0
    }

    /// A string found in the batch being built: its index there and what is known of its bytes.
    struct Resolved {
        let index: UInt32
        let flags: Flags
    }

    /// One slot of the table of addresses seen in the current `emit_metrics` call.
    private struct CallSlot: Sendable {
        var address: UInt = 0
        var length = 0
        var resolved = Resolved(index: 0, flags: [])
        var stamp: UInt32 = 0
    }

    private static let slotCount = 2 * maxEntries  // a power of two, at most half full
    private static let recentCount = 4096  // a power of two
    private static let callSlotCount = 256  // a power of two
    /// Positions remembered by ``resolve(_:count:in:position:)``: a collection's first 4,096 samples × 8 labels.
    private static let positionCount = 1 << 15

    /// What was found at one position (sample × label) of the previous batch.
    private struct PositionSlot: Sendable {
        var address: UInt = 0
        var length: Int32 = 0
        var entry: Int32 = -1
        var generation: UInt32 = 0
    }

    private var entries: [Entry] = []
    private var strings: [String] = []
    private var arena: [UInt8] = []
    private var slots: [Int32] = []  // index into `entries`, -1 when free
    private var recent: [Recent] = []
    private var generation: UInt32 = 1
    private var batchGeneration: UInt32 = 1
    private var callSlots: [CallSlot] = []
    private var callStamp: UInt32 = 1
    private var positions: [PositionSlot] = []

    /// Starts a new ``MetricBatch``: strings added to an earlier batch must be added to the new one again.
    mutating func beginBatch() {
        batchGeneration &+= 1
        if batchGeneration == 0 {
            for index in entries.indices { entries[index].batchStamp = 0 }
            batchGeneration = 1
        }
        beginCall()
    }

    /// Starts a new `emit_metrics` call. Within one call the ABI keeps borrowed memory valid and unchanged, so a
    /// slice at an address already seen in the call is the same string: ``resolve(_:count:in:)`` answers it
    /// from a small table without reading the bytes. Addresses from earlier calls are verified instead.
    mutating func beginCall() {
        callStamp &+= 1
        if callStamp == 0 {
            for index in callSlots.indices { callSlots[index].stamp = 0 }
            callStamp = 1
        }
    }

    /// The index in `batch` of the string of `count` bytes at `base` (`count` > 0), adding it the first time the
    /// batch needs it, and what is known of its bytes; `nil` when they are not valid UTF-8.
    ///
    /// `position` (a sample's ordinal in the batch × 8 + the label's index), when given, is where the same
    /// string was in the previous batch: collectors emit the same series in the same order every time, so the
    /// slice at that position usually has the same address and bytes as then, one sequential read away. A label
    /// value unique to one sample (a device, a mount point) is found that way instead of by a random probe.
    @inline(__always)
    mutating func resolve(
        _ base: UnsafePointer<UInt8>, count: Int, in batch: inout MetricBatch, position: Int? = nil
    ) -> Resolved? {
        let address = UInt(bitPattern: base)
        if callSlots.isEmpty { callSlots = Array(repeating: CallSlot(), count: Self.callSlotCount) }
        let slot = Int(truncatingIfNeeded: (address >> 3) ^ (address >> 11) ^ UInt(count)) & (Self.callSlotCount - 1)
        if callSlots[slot].stamp == callStamp, callSlots[slot].address == address, callSlots[slot].length == count {
            return callSlots[slot].resolved
        }
        let found: Lookup
        if let position, position < Self.positionCount {
            found = lookup(base, count: count, at: position)
        } else {
            found = lookup(base, count: count)
        }
        let resolved: Resolved
        switch found {
        case .cached(let entry):
            resolved = Resolved(index: batchIndex(ofEntry: entry, in: &batch), flags: entries[entry].flags)
        case .tooLong:
            guard let text = Self.uncachedString(base, count: count) else { return nil }
            resolved = Resolved(
                index: batch.addString(text, hash: ContentHash.hash(UnsafeRawPointer(base), count: count)),
                flags: Self.flags(of: UnsafeBufferPointer(start: base, count: count)))
        case .invalidUTF8:
            return nil
        }
        callSlots[slot] = CallSlot(address: address, length: count, resolved: resolved, stamp: callStamp)
        return resolved
    }

    /// The index in `batch` of the cached string at `index`, adding it (with its hash) the first time the
    /// current batch needs it.
    @inline(__always)
    mutating func batchIndex(ofEntry index: Int, in batch: inout MetricBatch) -> UInt32 {
        if entries[index].batchStamp == batchGeneration { return entries[index].batchSlot }
        let added = batch.addString(strings[index], hash: entries[index].hash)
        entries[index].batchStamp = batchGeneration
        entries[index].batchSlot = added
        return added
    }

    /// The cached string at `index`.
    func string(at index: Int) -> String { strings[index] }

    /// What is known about the cached string at `index`.
    func flags(at index: Int) -> Flags { entries[index].flags }

    /// ``lookup(_:count:)``, trying first what was found at `position` of the previous batch.
    private mutating func lookup(_ base: UnsafePointer<UInt8>, count: Int, at position: Int) -> Lookup {
        if positions.isEmpty { positions = Array(repeating: PositionSlot(), count: Self.positionCount) }
        let seen = positions[position]
        if seen.generation == generation, seen.address == UInt(bitPattern: base), Int(seen.length) == count,
            sameBytes(entry: Int(seen.entry), base, count)
        {
            return .cached(Int(seen.entry))
        }
        let found = lookup(base, count: count)
        if case .cached(let entry) = found {
            positions[position] = PositionSlot(
                address: UInt(bitPattern: base), length: Int32(count), entry: Int32(entry), generation: generation)
        }
        return found
    }

    /// The string for `count` bytes at `base` (`count` > 0).
    mutating func lookup(_ base: UnsafePointer<UInt8>, count: Int) -> Lookup {
        let address = UInt(bitPattern: base)
        if recent.isEmpty { recent = Array(repeating: Recent(), count: Self.recentCount) }
        let recentSlot = Int(truncatingIfNeeded: (address >> 3) ^ (address >> 15) ^ UInt(count)) & (Self.recentCount - 1)
        let seen = recent[recentSlot]
        if seen.generation == generation, seen.address == address, seen.length == count,
            sameBytes(entry: Int(seen.index), base, count)
        {
            return .cached(Int(seen.index))
        }
        let buffer = UnsafeBufferPointer(start: base, count: count)
        guard count <= Self.longestCached else { return .tooLong }
        let hash = ContentHash.hash(UnsafeRawPointer(base), count: count)
        if slots.isEmpty { slots = Array(repeating: -1, count: Self.slotCount) }
        var slot = Int(truncatingIfNeeded: hash) & (Self.slotCount - 1)
        while true {
            let index = Int(slots[slot])
            if index < 0 { break }
            if entries[index].hash == hash, sameBytes(entry: index, base, count) {
                recent[recentSlot] = Recent(address: address, length: count, index: Int32(index), generation: generation)
                return .cached(index)
            }
            slot = (slot + 1) & (Self.slotCount - 1)
        }
        guard let string = String(validating: buffer, as: UTF8.self) else { return .invalidUTF8 }
        if entries.count == Self.maxEntries || arena.count + count > Self.maxBytes {
            // Full: start again. Indices handed out so far are void, and so are the addresses that lead to them.
            entries.removeAll(keepingCapacity: true)
            strings.removeAll(keepingCapacity: true)
            arena.removeAll(keepingCapacity: true)
            for index in slots.indices { slots[index] = -1 }
            generation &+= 1
            if generation == 0 {
                for index in recent.indices { recent[index].generation = 0 }
                generation = 1
            }
            slot = Int(truncatingIfNeeded: hash) & (Self.slotCount - 1)
        }
        let index = entries.count
        let offset = arena.count
        arena.append(contentsOf: buffer)
        entries.append(Entry(hash: hash, flags: Self.flags(of: buffer), offset: Int32(offset), length: Int32(count)))
        strings.append(string)
        slots[slot] = Int32(index)
        recent[recentSlot] = Recent(address: address, length: count, index: Int32(index), generation: generation)
        return .cached(index)
    }

    /// Whether the cached entry's bytes are the `count` bytes at `base`.
    @inline(__always)
    private func sameBytes(entry index: Int, _ base: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        guard Int(entries[index].length) == count else { return false }
        let offset = Int(entries[index].offset)
        return arena.withUnsafeBufferPointer { arena in
            Self.equalBytes(UnsafeRawPointer(arena.baseAddress! + offset), UnsafeRawPointer(base), count)
        }
    }

    /// `memcmp(a, b, count) == 0` for the short strings of metrics, eight bytes at a time, without a call.
    @inline(__always)
    private static func equalBytes(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ count: Int) -> Bool {
        var offset = 0
        while offset + 8 <= count {
            if a.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                != b.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            {
                return false
            }
            offset += 8
        }
        while offset < count {
            if a.load(fromByteOffset: offset, as: UInt8.self) != b.load(fromByteOffset: offset, as: UInt8.self) {
                return false
            }
            offset += 1
        }
        return true
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

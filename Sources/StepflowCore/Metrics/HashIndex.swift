/// A map from 64-bit hashes to small integers, by open addressing with linear probing, for keys that already are
/// good hashes (series fingerprints, ``ContentHash`` values): a lookup runs no `Hasher` (Swift's `Dictionary`
/// seeds and finalizes SipHash per lookup, which showed as 5 % of the host's CPU under remote-write ingest).
///
/// It holds one value per key; callers that need several (strings or series whose hashes collide) chain them
/// through an array of their own, as `SeriesTable` does. Nothing is removed one by one: a caller rebuilds.
package struct HashIndex: Sendable {
    private var keys: [UInt64]
    /// -1 for an empty slot.
    private var values: [Int32]
    private var mask: Int
    /// The number of keys held.
    package private(set) var count = 0

    /// An empty index with room for about `capacity` keys before it grows.
    package init(capacity: Int = 8) {
        var slots = 16
        while slots < capacity.saturatingDoubled { slots <<= 1 }
        keys = [UInt64](repeating: 0, count: slots)
        values = [Int32](repeating: -1, count: slots)
        mask = slots - 1
    }

    @inline(__always)
    private func start(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: ((key ^ (key >> 29)) &* 0xBF58_476D_1CE4_E5B9) >> 32) & mask
    }

    /// The value of `key`, if it has one.
    @inline(__always)
    package func value(for key: UInt64) -> Int32? {
        var slot = start(key)
        while true {
            let value = values[slot]
            if value < 0 { return nil }
            if keys[slot] == key { return value }
            slot = (slot &+ 1) & mask
        }
    }

    /// Sets the value of `key` (a new key, or a new value for one held). `value` must not be negative.
    package mutating func set(_ value: Int32, for key: UInt64) {
        precondition(value >= 0, "HashIndex values are non-negative")
        if (count + 1) * 2 > values.count { grow() }
        var slot = start(key)
        while values[slot] >= 0, keys[slot] != key { slot = (slot &+ 1) & mask }
        if values[slot] < 0 { count += 1 }
        keys[slot] = key
        values[slot] = value
    }

    private mutating func grow() {
        let (oldKeys, oldValues) = (keys, values)
        keys = [UInt64](repeating: 0, count: oldKeys.count * 2)
        values = [Int32](repeating: -1, count: oldKeys.count * 2)
        mask = keys.count - 1
        count = 0
        for slot in oldKeys.indices where oldValues[slot] >= 0 { set(oldValues[slot], for: oldKeys[slot]) }
    }
}

extension Int {
    fileprivate var saturatingDoubled: Int { self > Int.max / 2 ? Int.max : self * 2 }
}

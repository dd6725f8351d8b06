/// The 64-bit content hash used for interned strings and series fingerprints.
///
/// One function for every module, so that a hash computed by the plugin host (from a plugin's bytes) and one
/// computed by the metrics engine (from a `String`) agree. Not cryptographic: series lookups always confirm a
/// fingerprint match by comparing names and labels. Seeded at random per process, so that a client cannot compute
/// strings whose hashes collide and turn the lookups of the series table and the ingest readers into long chain
/// walks (hash flooding); no hash leaves the process or is stored.
package enum ContentHash {
    /// This process's seed.
    @usableFromInline package static let seed = UInt64.random(in: .min ... .max)

    /// The hash of `count` bytes at `base`, eight bytes at a time.
    @inlinable
    package static func hash(_ base: UnsafeRawPointer, count: Int) -> UInt64 {
        var hash: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ seed ^ UInt64(truncatingIfNeeded: count)
        var offset = 0
        while offset + 8 <= count {
            hash = (hash ^ base.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
            hash ^= hash >> 29
            offset += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while offset < count {
            tail |= UInt64(base.load(fromByteOffset: offset, as: UInt8.self)) << shift
            shift += 8
            offset += 1
        }
        hash = (hash ^ tail) &* 0xC4CE_B9FE_1A85_EC53
        hash ^= hash >> 32
        return hash
    }

    /// The hash of a string's UTF-8 bytes.
    package static func hash(_ string: String) -> UInt64 {
        var string = string
        return string.withUTF8 { utf8 in
            guard let base = utf8.baseAddress else { return hash(UnsafeRawPointer(bitPattern: 1)!, count: 0) }
            return hash(UnsafeRawPointer(base), count: utf8.count)
        }
    }
}

/// The identity hash of a series: a metric name plus its label set, independent of label order.
///
/// Each label contributes a mixed hash of its name and value, and the contributions are added, so `{a,b}` and
/// `{b,a}` fingerprint alike without sorting. Equal fingerprints are a hint, never proof: the engine compares
/// the name and labels before it treats two samples as one series.
package enum SeriesFingerprint {
    /// The fingerprint of a name with no labels yet; add ``label(name:value:)`` for each label.
    @inlinable
    package static func start(name: UInt64) -> UInt64 {
        mix(name ^ 0x243F_6A88_85A3_08D3)
    }

    /// One label's contribution, from the hashes of its name and value.
    @inlinable
    package static func label(name: UInt64, value: UInt64) -> UInt64 {
        mix(name &* 0x9E37_79B9_7F4A_7C15 ^ (value << 31 | value >> 33) ^ 0x1319_8A2E_0370_7344)
    }

    /// The fingerprint of a name and labels given as strings.
    package static func of(name: String, labels: [Label]) -> UInt64 {
        var fingerprint = start(name: ContentHash.hash(name))
        for label in labels {
            fingerprint &+= self.label(name: ContentHash.hash(label.name), value: ContentHash.hash(label.value))
        }
        return fingerprint
    }

    @inlinable
    static func mix(_ value: UInt64) -> UInt64 {
        var x = value
        x ^= x >> 33
        x &*= 0xFF51_AFD7_ED55_8CCD
        x ^= x >> 33
        x &*= 0xC4CE_B9FE_1A85_EC53
        x ^= x >> 33
        return x
    }
}

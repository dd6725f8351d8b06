import StepflowCore
import StepflowWireFormats
import Synchronization

/// What the remote-write receiver knows of metric families from the metadata senders send (Prometheus sends
/// it every minute, in requests of their own): type and HELP by family name, so that samples arriving later are
/// stored with the right type. At most ``capacity`` families are remembered; past that, new families' metadata is
/// not kept and their series are typed by name (``RemoteWriteTypes``).
package final class RemoteWriteFamilies: Sendable {
    /// What one metadata entry says.
    package struct Family: Sendable, Equatable {
        package var type: Prometheus_MetricMetadata.MetricType
        package var help: String?
    }

    /// The most families remembered (docs/ingest.md, "Limits").
    package static let capacity = 10_000
    /// The longest HELP text kept; longer ones are cut (the engine's own limit applies after).
    package static let maxHelpBytes = 4_096

    private let families = Mutex<[String: Family]>([:])

    package init() {}

    /// Remembers the metadata of a request; returns how many entries were not kept because the table is full
    /// or the entry names no family.
    @discardableResult
    package func remember(_ metadata: [Prometheus_MetricMetadata]) -> Int {
        guard !metadata.isEmpty else { return 0 }
        return families.withLock { families in
            var skipped = 0
            for entry in metadata {
                let name = entry.metricFamilyName
                guard !name.isEmpty, name.utf8.count <= 1_024 else {
                    skipped += 1
                    continue
                }
                let help = entry.help.isEmpty ? nil : Self.prefix(entry.help, bytes: Self.maxHelpBytes)
                if families[name] == nil, families.count >= Self.capacity {
                    skipped += 1
                    continue
                }
                families[name] = Family(type: entry.type, help: help)
            }
            return skipped
        }
    }

    /// The longest prefix of `text`, in whole characters, of at most `bytes` UTF-8 bytes.
    static func prefix(_ text: String, bytes: Int) -> String {
        guard text.utf8.count > bytes else { return text }
        var end = text.startIndex
        var used = 0
        for index in text.indices {
            let size = text[index...].prefix(1).utf8.count
            guard used + size <= bytes else { break }
            used += size
            end = text.index(after: index)
        }
        return String(text[..<end])
    }

    /// What is known of family `name`.
    package func family(_ name: String) -> Family? {
        families.withLock { $0[name] }
    }

    /// How many families are remembered.
    package var count: Int { families.withLock { $0.count } }
}

/// How a remote-write series becomes one of the engine's types (docs/ingest.md, "Remote write: types").
///
/// Remote write 1.0 carries classic histograms and summaries as separate series (`x_bucket{le=…}`, `x_sum`,
/// `x_count`, `x{quantile=…}`), each a plain number; they are stored as such. A family's type comes from, in
/// order: the engine (a family that already has series keeps its type), the sender's metadata, then the name:
/// `_total`, `_bucket` and `_count` are counters, anything else a gauge.
package enum RemoteWriteTypes {
    /// The type of series `name`, given the family metadata known for it (its own, or its base family's when the
    /// name ends in `_bucket`, `_sum` or `_count`).
    package static func type(of name: String, families: RemoteWriteFamilies) -> (type: MetricType, help: String?) {
        if let family = families.family(name) {
            switch family.type {
            case .counter: return (.counter, family.help)
            // A summary family's own series are its quantiles; anything else without a type of ours is a gauge.
            default: return (.gauge, family.help)
            }
        }
        for suffix in ["_bucket", "_count", "_sum"] where name.hasSuffix(suffix) {
            let base = String(name.dropLast(suffix.count))
            guard let family = families.family(base) else { continue }
            switch family.type {
            case .histogram, .gaugehistogram, .summary:
                // Buckets and counts only grow (until a reset); a sum may fall (negative observations).
                return (suffix == "_sum" || family.type == .gaugehistogram ? .gauge : .counter, family.help)
            default:
                break
            }
        }
        return (byName(name), nil)
    }

    /// The type a name suggests when nothing else is known.
    package static func byName(_ name: String) -> MetricType {
        name.hasSuffix("_total") || name.hasSuffix("_bucket") || name.hasSuffix("_count") ? .counter : .gauge
    }
}

import StepflowCore

/// Every series the engine knows, found by fingerprint, plus one entry per metric family (name).
///
/// Series live in one array; an index is valid until ``removeAll(where:)`` compacts it, which happens under the
/// engine's lock like every other use of an index. A fingerprint leads to the series that share it (almost always
/// one); the caller confirms the match by name and labels. A family without series keeps its HELP and takes the
/// type of the next series of its name; once more than ``maxEmptyFamilies`` (or as many as there are series) have
/// none, a sweep forgets them, so that names that come and go cannot grow the table for ever.
struct SeriesTable {
    /// What the engine knows of one metric name.
    struct Family {
        var name: String
        var type: MetricType
        var help: String?
        var seriesCount = 0
    }

    private(set) var series: [SeriesState] = []
    private(set) var families: [Family] = []
    private var firstByFingerprint = HashIndex()
    private var nextWithFingerprint: [Int32] = []
    private var familyByName: [String: Int] = [:]
    /// Series indices sorted by name, then labels; rebuilt on the first read after a series was added.
    private var sortedOrder: [Int32] = []
    private var sortedCount = 0

    /// Whether ``estimatedBytes`` is kept (the profile's memory split); off, adding a series costs nothing more.
    let estimatesMemory: Bool

    init(estimatesMemory: Bool = true) { self.estimatesMemory = estimatesMemory }

    var count: Int { series.count }
    /// An estimate of the memory the series hold: their text (names, labels twice, labels JSON) plus a fixed cost
    /// per series for its state, identity object and index entries. Kept as series come and go.
    private(set) var estimatedBytes = 0

    /// The estimated bytes of one series (``estimatedBytes``).
    static func estimatedBytes(of state: SeriesState) -> Int {
        let identity = state.identity
        var text = identity.name.utf8.count + (identity.labelsJSON?.utf8.count ?? 0)
        for label in identity.labels { text += 2 * (label.name.utf8.count + label.value.utf8.count) }
        // SeriesState, the SeriesIdentity object and its arrays' headers, two index entries, sorted order.
        return text + MemoryLayout<SeriesState>.stride + 160 + 4 * MemoryLayout<Label>.stride * identity.labels.count
    }

    /// The series with `fingerprint` that `matches` confirms, if any.
    @inline(__always)
    func find(_ fingerprint: UInt64, where matches: (SeriesIdentity) -> Bool) -> Int? {
        guard var index = firstByFingerprint.value(for: fingerprint) else { return nil }
        while index >= 0 {
            if matches(series[Int(index)].identity) { return Int(index) }
            index = nextWithFingerprint[Int(index)]
        }
        return nil
    }

    func family(named name: String) -> Int? { familyByName[name] }

    mutating func addFamily(name: String, type: MetricType) -> Int {
        if let free = freeFamilies.popLast() {
            families[free] = Family(name: name, type: type)
            familyByName[name] = free
            return free
        }
        families.append(Family(name: name, type: type))
        familyByName[name] = families.count - 1
        return families.count - 1
    }

    /// How many families without series a sweep leaves alone (more when there are more series).
    static let maxEmptyFamilies = 10_000
    /// Slots of forgotten families, reused by ``addFamily(name:type:)``.
    private var freeFamilies: [Int] = []

    /// Forgets every family without series once there are too many of them; their slots are reused.
    private mutating func forgetEmptyFamilies() {
        let empty = families.count - freeFamilies.count - familiesWithSeries
        guard empty > max(Self.maxEmptyFamilies, series.count) else { return }
        for index in families.indices where families[index].seriesCount == 0 && !families[index].name.isEmpty {
            familyByName[families[index].name] = nil
            families[index] = Family(name: "", type: .gauge)
            freeFamilies.append(index)
        }
    }

    /// Families held: with series, or without and not forgotten yet.
    var familyCount: Int { families.count - freeFamilies.count }

    private var familiesWithSeries: Int { families.reduce(0) { $0 + ($1.seriesCount > 0 ? 1 : 0) } }

    /// Gives a family without series a new type.
    mutating func retype(family: Int, to type: MetricType) {
        families[family].type = type
    }

    /// Sets a family's HELP text; returns whether it changed.
    mutating func setHelp(_ help: String, ofFamily family: Int) -> Bool {
        if families[family].help == help { return false }
        families[family].help = help
        return true
    }

    /// Adds a series; returns its index.
    mutating func add(_ state: SeriesState) -> Int {
        let index = series.count
        series.append(state)
        if estimatesMemory { estimatedBytes += Self.estimatedBytes(of: state) }
        families[state.identity.family].seriesCount += 1
        if let first = firstByFingerprint.value(for: state.identity.fingerprint) {
            nextWithFingerprint.append(first)  // chain the newcomer in front of the series that share its fingerprint
        } else {
            nextWithFingerprint.append(-1)
        }
        firstByFingerprint.set(Int32(truncatingIfNeeded: index), for: state.identity.fingerprint)
        return index
    }

    /// Removes every series `shouldRemove` picks and returns them; the others keep their order, and the indices
    /// (found, sorted) are rebuilt. O(series), for a periodic sweep, not for a sample.
    mutating func removeAll(where shouldRemove: (SeriesState) -> Bool) -> [SeriesState] {
        var removed: [SeriesState] = []
        var newIndex = [Int32](repeating: -1, count: series.count)
        var kept: [SeriesState] = []
        for (index, state) in series.enumerated() {
            if shouldRemove(state) {
                removed.append(state)
                if estimatesMemory { estimatedBytes -= Self.estimatedBytes(of: state) }
                families[state.identity.family].seriesCount -= 1
            } else {
                newIndex[index] = Int32(truncatingIfNeeded: kept.count)
                if kept.isEmpty { kept.reserveCapacity(series.count - removed.count) }
                kept.append(state)
            }
        }
        guard !removed.isEmpty else { return [] }
        series = []
        firstByFingerprint = HashIndex(capacity: kept.count)
        nextWithFingerprint = []
        nextWithFingerprint.reserveCapacity(kept.count)
        let families = self.families
        for state in kept {
            self.families[state.identity.family].seriesCount -= 1  // `add` counts it again
            _ = add(state)
        }
        assert(self.families.map(\.seriesCount) == families.map(\.seriesCount))
        // Compaction keeps the order, so the sorted prefix stays sorted once renumbered.
        sortedOrder = sortedOrder.prefix(sortedCount).compactMap { newIndex[Int($0)] >= 0 ? newIndex[Int($0)] : nil }
        sortedCount = sortedOrder.count
        forgetEmptyFamilies()
        return removed
    }

    subscript(index: Int) -> SeriesState {
        get { series[index] }
        _modify { yield &series[index] }
    }

    /// Series indices in name-then-labels order.
    mutating func sortedIndices() -> [Int32] {
        if sortedCount != series.count {
            var order = sortedOrder
            order.append(contentsOf: (sortedCount..<series.count).map { Int32($0) })
            let series = self.series
            order.sort { lhs, rhs in
                let left = series[Int(lhs)].identity
                let right = series[Int(rhs)].identity
                if left.name != right.name { return left.name < right.name }
                return left.labels.lexicographicallyPrecedes(right.labels)
            }
            sortedOrder = order
            sortedCount = series.count
        }
        return sortedOrder
    }
}

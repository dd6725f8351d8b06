import StepflowCore

/// Every series the engine knows, found by fingerprint, plus one entry per metric family (name).
///
/// Series live in one array and are never removed while the host runs, so an index stays valid. A fingerprint
/// leads to the series that share it (almost always one); the caller confirms the match by name and labels.
struct SeriesTable {
    /// What the engine knows of one metric name.
    struct Family {
        let name: String
        let type: MetricType
        var help: String?
        var seriesCount = 0
    }

    private(set) var series: [SeriesState] = []
    private(set) var families: [Family] = []
    private var firstByFingerprint: [UInt64: Int32] = [:]
    private var nextWithFingerprint: [Int32] = []
    private var familyByName: [String: Int] = [:]
    /// Series indices sorted by name, then labels; rebuilt on the first read after a series was added.
    private var sortedOrder: [Int32] = []
    private var sortedCount = 0

    var count: Int { series.count }

    /// The series with `fingerprint` that `matches` confirms, if any.
    @inline(__always)
    func find(_ fingerprint: UInt64, where matches: (SeriesIdentity) -> Bool) -> Int? {
        guard var index = firstByFingerprint[fingerprint] else { return nil }
        while index >= 0 {
            if matches(series[Int(index)].identity) { return Int(index) }
            index = nextWithFingerprint[Int(index)]
        }
        return nil
    }

    func family(named name: String) -> Int? { familyByName[name] }

    mutating func addFamily(name: String, type: MetricType) -> Int {
        families.append(Family(name: name, type: type))
        familyByName[name] = families.count - 1
        return families.count - 1
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
        families[state.identity.family].seriesCount += 1
        if let first = firstByFingerprint[state.identity.fingerprint] {
            nextWithFingerprint.append(first)  // chain the newcomer in front of the series that share its fingerprint
        } else {
            nextWithFingerprint.append(-1)
        }
        firstByFingerprint[state.identity.fingerprint] = Int32(index)
        return index
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

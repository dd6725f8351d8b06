import StepflowCore
import StepflowTestSupport
import Testing

@Suite("HashIndex")
struct HashIndexTests {
    @Test("agrees with a Dictionary over 100,000 sets and lookups, growth and replaced values included")
    func agreesWithDictionary() {
        var random = FuzzRandom(seed: fuzzSeed(default: 0x5EED_0165))
        var index = HashIndex()
        var reference: [UInt64: Int32] = [:]
        // Few distinct high bits and many small keys, so that probe sequences collide.
        for round in 0..<100_000 {
            let key = random.chance(0.5) ? UInt64.random(in: 0..<5_000, using: &random) : random.next()
            if random.chance(0.6) {
                let value = Int32(round % 1_000_000)
                index.set(value, for: key)
                reference[key] = value
            }
            #expect(index.value(for: key) == reference[key])
        }
        #expect(index.count == reference.count)
        for (key, value) in reference { #expect(index.value(for: key) == value) }
    }
}

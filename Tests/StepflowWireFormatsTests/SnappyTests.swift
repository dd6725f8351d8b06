import StepflowWireFormats
import StepflowTestSupport
import Testing

/// Snappy's block format against the format description's own cases and against hostile blocks: what the
/// remote-write receiver (issue 16) will decode from the network.
@Suite("Snappy blocks")
struct SnappyTests {
    @Test("a block written by hand from the format description decodes: literal, 1-byte-offset copy, overlap")
    func knownBlock() throws {
        // Preamble 12; literal "abcd" (tag (4-1)<<2); copy of 8 bytes at offset 4, one-byte offset
        // (tag 1 | (8-4)<<2 | 0<<5, offset 4): "abcdabcdabcd".
        let block: [UInt8] = [12, 3 << 2, 97, 98, 99, 100, 1 | (4 << 2), 4]
        #expect(try Snappy.decompress(block) == Array("abcdabcdabcd".utf8))
    }

    @Test("what compress writes, decompress reads back, for inputs shaped like remote-write requests")
    func roundTrip() throws {
        var random = FuzzRandom(seed: fuzzSeed(default: 0x5eed))
        for size in [0, 1, 3, 4, 59, 60, 61, 255, 256, 65_535, 65_536, 200_000] {
            let noise = (0..<size).map { _ in UInt8.random(in: 0...255, using: &random) }
            let text = Array(String(repeating: "up{job=\"node\"} 1 ", count: size / 16 + 1).utf8.prefix(size))
            for input in [noise, text] {
                #expect(try Snappy.decompress(Snappy.compress(input)) == input, "\(input.count) bytes")
            }
        }
    }

    @Test("a preamble past the limit is refused before any allocation")
    func preambleLimit() {
        // 2^34 bytes announced in five bytes.
        let error = #expect(throws: Snappy.CorruptInput.self) { try Snappy.decompress([0x80, 0x80, 0x80, 0x80, 0x40]) }
        #expect(error?.description.contains("more than the limit") == true)
        #expect(throws: Snappy.CorruptInput.self) { try Snappy.decompress(Snappy.compress([UInt8](repeating: 1, count: 100)), limit: 99) }
    }

    @Test("a copy that would expand past the announced length is refused (no decompression bomb)")
    func noBomb() {
        // Announces 8 bytes; a literal "ab" then a copy of 64 bytes at offset 2 (2-byte offset form).
        let block: [UInt8] = [8, 1 << 2, 97, 98, 2 | (63 << 2), 2, 0]
        let error = #expect(throws: Snappy.CorruptInput.self) { try Snappy.decompress(block) }
        #expect(error?.description.contains("past the 8 bytes") == true)
    }

    @Test("20,000 random and mutated blocks: every one decodes or is refused, none traps")
    func fuzz() {
        var random = FuzzRandom(seed: fuzzSeed(default: 0x51a9))
        let seeds = [Snappy.compress(Array("node_cpu_seconds_total{cpu=\"0\"} 1".utf8)), Snappy.compress([UInt8](repeating: 7, count: 300))]
        var refused = 0
        for round in 0..<20_000 {
            var block: [UInt8]
            if round % 2 == 0 {
                block = (0..<Int.random(in: 0...40, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            } else {
                block = random.pick(seeds)
                for _ in 0..<Int.random(in: 1...4, using: &random) where !block.isEmpty {
                    block[Int.random(in: 0..<block.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                }
            }
            do {
                let output = try Snappy.decompress(block, limit: 1 << 20)
                #expect(output.count <= 1 << 20)
            } catch {
                refused += 1
            }
        }
        #expect(refused > 0)
    }
}

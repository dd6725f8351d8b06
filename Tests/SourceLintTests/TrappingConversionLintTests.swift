import Foundation
import Testing

/// The repository root, found from this file's path.
private let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// Every `.swift` file under `Sources/` and `Plugins/` (generated protobuf code excepted), with its lines.
private func sourceLines() throws -> [(file: String, number: Int, text: String)] {
    var lines: [(String, Int, String)] = []
    for folder in ["Sources", "Plugins"] {
        let root = repositoryRoot.appendingPathComponent(folder)
        guard let walker = FileManager.default.enumerator(atPath: root.path) else { continue }
        for case let relative as String in walker where relative.hasSuffix(".swift") && !relative.hasSuffix(".pb.swift") {
            let text = try String(contentsOf: root.appendingPathComponent(relative), encoding: .utf8)
            for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                lines.append(("\(folder)/\(relative)", index + 1, String(line)))
            }
        }
    }
    return lines
}

/// Issue 11: a conversion that traps on an out-of-range value must not stand on an input path. This lists every
/// floating-point-to-integer conversion by an initializer that traps (`Int64(x)` where `x` comes from a
/// `Double`: a rounding, a time interval, a `Duration` divided by a `Duration`), and every `try!`, so that a new
/// one is caught in review. A conversion that is safe says why on its line, after `// range:`; the others use
/// `init(exactly:)`, `init(clamping:)`, ``ValidTime`` or `Duration.milliseconds(clampingSeconds:)`.
@Suite("Source lint: no trapping conversions on input paths")
struct TrappingConversionLintTests {
    static let integer = #"\b(U?Int(8|16|32|64)?)\((?!exactly:|clamping:|truncatingIfNeeded:|bitPattern:)"#
    static let floatingArgument =
        #"(\.rounded\(|timeInterval|/ ?\.(milli|micro|nano)?seconds\(|\* ?1000\b|\* ?1e|Double\(|floor\(|ceil\(|\.inSeconds)"#

    @Test("every float-to-integer conversion is checked or says why it cannot trap")
    func floatToInteger() throws {
        let pattern = try Regex(Self.integer + ".*" + Self.floatingArgument)
        let offenders = try sourceLines().filter { line in
            !line.text.trimmingCharacters(in: .whitespaces).hasPrefix("//") && line.text.contains(pattern)
                && !line.text.contains("// range:")
        }
        #expect(offenders.isEmpty, """
            trapping conversions (use init(exactly:)/init(clamping:)/ValidTime, or say why on the line after `// range:`):
            \(offenders.map { "\($0.file):\($0.number): \($0.text.trimmingCharacters(in: .whitespaces))" }.joined(separator: "\n"))
            """)
    }

    @Test("no try! in the sources")
    func noTryBang() throws {
        let offenders = try sourceLines().filter { $0.text.contains("try!") && !$0.text.contains("\"try!\"") }
        #expect(offenders.isEmpty, "\(offenders.map { "\($0.file):\($0.number)" })")
    }

    @Test("the lint finds what it is meant to find")
    func lintCatches() throws {
        let pattern = try Regex(Self.integer + ".*" + Self.floatingArgument)
        #expect("let ms = Int64((seconds * 1000).rounded())".contains(pattern))
        #expect("let ms = Int64(timeout / .milliseconds(1))".contains(pattern))
        #expect(!"let ms = Int64(exactly: (seconds * 1000).rounded())".contains(pattern))
        #expect(!"let n = Int(text)".contains(pattern))
    }
}

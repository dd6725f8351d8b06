import CStepflowPlugin

/// One allocation holding everything a single C call borrows: first the structs (records, labels, ...), then
/// the bytes of every string. Callers count what they need, lay it out, and the arena is freed when the call
/// returns, so nothing the plugin was lent outlives the call.
struct BorrowedArena: ~Copyable {
    private let base: UnsafeMutableRawPointer
    private let structBytes: Int
    private var structCursor = 0
    private var byteCursor: Int

    /// What a call needs: the structs it places (by type and count) and the UTF-8 bytes of its strings.
    struct Size {
        fileprivate var structBytes = 0
        fileprivate var textBytes = 0

        /// Room for `count` values of `type`, aligned.
        mutating func add<T>(_ type: T.Type, count: Int) {
            guard count > 0 else { return }
            structBytes = BorrowedArena.align(structBytes, MemoryLayout<T>.alignment) + count * MemoryLayout<T>.stride
        }

        /// Room for the bytes of `text`.
        mutating func add(_ text: String) { textBytes += text.utf8.count }

        /// Room for the bytes of each name and value.
        mutating func add(_ pairs: [(name: String, value: String)]) {
            add(stepflow_label.self, count: pairs.count)
            for pair in pairs { textBytes += pair.name.utf8.count + pair.value.utf8.count }
        }
    }

    private static let alignment = 16

    private static func align(_ offset: Int, _ alignment: Int) -> Int { (offset + alignment - 1) / alignment * alignment }

    /// Allocates an arena of `size`, calls `body` with it and frees it when `body` returns.
    static func with<R>(_ size: Size, _ body: (inout BorrowedArena) -> R) -> R {
        let structBytes = align(size.structBytes, alignment)
        var arena = BorrowedArena(
            base: UnsafeMutableRawPointer.allocate(byteCount: max(structBytes + size.textBytes, 1), alignment: alignment),
            structBytes: structBytes)
        defer { arena.base.deallocate() }
        return body(&arena)
    }

    private init(base: UnsafeMutableRawPointer, structBytes: Int) {
        self.base = base
        self.structBytes = structBytes
        self.byteCursor = structBytes
    }

    /// Uninitialized room for `count` values of `type`; `nil` for none. Counted in the ``Size`` beforehand.
    mutating func allocate<T>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<T>? {
        guard count > 0 else { return nil }
        let start = Self.align(structCursor, MemoryLayout<T>.alignment)
        structCursor = start + count * MemoryLayout<T>.stride
        precondition(structCursor <= structBytes, "BorrowedArena: more structs placed than counted")
        return (base + start).bindMemory(to: type, capacity: count)
    }

    /// Copies the UTF-8 bytes of `text` into the arena and returns the borrowed slice (`NULL`, 0 when empty).
    mutating func place(_ text: String) -> stepflow_str {
        var text = text
        let start = base + byteCursor
        let count = text.withUTF8 { utf8 -> Int in
            guard let source = utf8.baseAddress, utf8.count > 0 else { return 0 }
            start.copyMemory(from: source, byteCount: utf8.count)
            return utf8.count
        }
        guard count > 0 else { return stepflow_str(ptr: nil, len: 0) }
        byteCursor += count
        return stepflow_str(ptr: UnsafePointer(start.assumingMemoryBound(to: CChar.self)), len: count)
    }

    /// Places `pairs` as a `stepflow_label` array; `nil` for none.
    mutating func place(_ pairs: [(name: String, value: String)]) -> UnsafePointer<stepflow_label>? {
        guard let labels = allocate(stepflow_label.self, count: pairs.count) else { return nil }
        for (index, pair) in pairs.enumerated() {
            (labels + index).initialize(to: stepflow_label(name: place(pair.name), value: place(pair.value)))
        }
        return UnsafePointer(labels)
    }
}

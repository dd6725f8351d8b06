import CStepflowPlugin

/// Calls `body` with the settings as a C array of `stepflow_setting`, borrowed for the duration of the call:
/// one allocation holds every string, one holds the pairs.
func withBorrowedSettings<R>(
    _ pairs: [(name: String, value: String)],
    _ body: (UnsafePointer<stepflow_setting>?, Int) -> R
) -> R {
    guard !pairs.isEmpty else { return body(nil, 0) }
    let byteCount = pairs.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count }
    let bytes = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: 1)
    let settings = UnsafeMutablePointer<stepflow_setting>.allocate(capacity: pairs.count)
    defer {
        settings.deallocate()
        bytes.deallocate()
    }

    var offset = 0
    func place(_ text: String) -> stepflow_str {
        let start = bytes + offset
        var count = 0
        for byte in text.utf8 {
            start.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
            count += 1
        }
        offset += count
        return stepflow_str(ptr: start.assumingMemoryBound(to: CChar.self), len: count)
    }
    for (index, pair) in pairs.enumerated() {
        (settings + index).initialize(to: stepflow_setting(name: place(pair.name), value: place(pair.value)))
    }
    return body(UnsafePointer(settings), pairs.count)
}

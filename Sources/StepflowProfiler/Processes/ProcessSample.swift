/// One process as a scan read it from `/proc/PID/stat`, `status`, `io` and `fd`.
///
/// `pid` and `startTicks` together identify a process: a PID the kernel hands to a new program has another start time.
struct ProcessSample: Sendable, Hashable {
    var pid: Int32
    var parent: Int32 = 0
    /// Field 22 of `stat`: when the process started, in clock ticks after boot.
    var startTicks: UInt64 = 0
    var comm = ""
    var userTicks: UInt64 = 0
    var systemTicks: UInt64 = 0
    var majorFaults: UInt64 = 0
    var threads: UInt64 = 0
    var virtualBytes: UInt64 = 0
    var residentPages: UInt64 = 0
    /// From `status`; `nil` when it was not read.
    var realUID: UInt32?
    var swapKilobytes: UInt64 = 0
    var voluntarySwitches: UInt64 = 0
    var involuntarySwitches: UInt64 = 0
    /// From `io` (readable only for the host's own processes unless it runs as root); `nil` when unreadable.
    var readBytes: UInt64?
    var writeBytes: UInt64?
    /// Entries of `fd` (same permission rule as `io`); `nil` when unreadable.
    var openFDs: UInt64?

    struct Identity: Hashable, Sendable {
        var pid: Int32
        var startTicks: UInt64
    }

    var identity: Identity { Identity(pid: pid, startTicks: startTicks) }

    /// Fills the fields of `stat`; `false` when its text is not a stat line.
    mutating func parseStat(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let open = bytes.firstIndex(of: 0x28), let close = bytes.lastIndex(of: 0x29), close > open else { return false }
        comm = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[(open + 1)..<close]), as: UTF8.self)
        // After ") ": the state (field 3), then numbers; field N is token N - 3. Some fields can be negative
        // (tty, tpgid): those read as 0, and none of them is used.
        var values: [UInt64] = []
        values.reserveCapacity(22)
        var position = close + 2
        var token = 0
        while position < bytes.count, token < 22 {
            while position < bytes.count, bytes[position] == 0x20 { position += 1 }
            let start = position
            while position < bytes.count, bytes[position] != 0x20, bytes[position] != 0x0A { position += 1 }
            if token > 0 {
                values.append(ProcParse.number(UnsafeRawBufferPointer(rebasing: bytes[start..<position]), from: 0)?.value ?? 0)
            }
            token += 1
        }
        guard values.count >= 21 else { return false }
        func field(_ number: Int) -> UInt64 { values[number - 4] }
        parent = Int32(clamping: field(4))
        majorFaults = field(12)
        userTicks = field(14)
        systemTicks = field(15)
        threads = field(20)
        startTicks = field(22)
        virtualBytes = field(23)
        residentPages = field(24)
        return true
    }

    /// Fills the fields of `status`.
    mutating func parseStatus(_ bytes: UnsafeRawBufferPointer) {
        realUID = ProcParse.field(bytes, "Uid:").map { UInt32(clamping: $0) }
        swapKilobytes = ProcParse.field(bytes, "VmSwap:") ?? 0
        voluntarySwitches = ProcParse.field(bytes, "voluntary_ctxt_switches:") ?? 0
        involuntarySwitches = ProcParse.field(bytes, "nonvoluntary_ctxt_switches:") ?? 0
    }

    /// Fills the fields of `io`.
    mutating func parseIO(_ bytes: UnsafeRawBufferPointer) {
        readBytes = ProcParse.field(bytes, "read_bytes:")
        writeBytes = ProcParse.field(bytes, "write_bytes:")
    }
}

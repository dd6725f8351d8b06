import Foundation

/// The threads of this process and the CPU each has used, from `/proc/self/task/TID/stat`.
public struct ThreadUsage: Sendable, Hashable {
    /// The thread id.
    public var tid: Int32
    /// The thread's name (`comm`, at most 15 bytes).
    public var name: String
    /// User plus system CPU seconds since the thread started.
    public var cpuSeconds: Double

    public init(tid: Int32, name: String, cpuSeconds: Double) {
        self.tid = tid
        self.name = name
        self.cpuSeconds = cpuSeconds
    }

    /// Every thread of this process that could be read; a thread that exits meanwhile is left out.
    public static func current(procRoot: String = "/proc") -> [ThreadUsage] {
        let directory = procRoot + "/self/task"
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        var threads: [ThreadUsage] = []
        threads.reserveCapacity(entries.count)
        for entry in entries {
            guard let tid = Int32(entry), let text = try? ProcFile.read(directory + "/" + entry + "/stat"),
                let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")"), open < close,
                let stat = ProcessStatLine(text), let cpu = stat.cpuSeconds
            else { continue }
            threads.append(ThreadUsage(tid: tid, name: String(text[text.index(after: open)..<close]), cpuSeconds: cpu))
        }
        return threads
    }
}

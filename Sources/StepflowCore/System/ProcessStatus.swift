/// The `kB` fields of `/proc/self/status` (`VmRSS`, `RssAnon`, `RssFile`, `RssShmem`, `VmSwap`, …): the host's
/// memory as the kernel counts it, for the memory-release job and `GET /api/v1/profile`.
public enum ProcessStatus {
    /// Every `name: N kB` line, in kilobytes by name; empty when the file cannot be read.
    public static func kilobytes(procRoot: String = "/proc") -> [String: Int] {
        guard let text = try? ProcFile.read(procRoot + "/self/status") else { return [:] }
        var values: [String: Int] = [:]
        for line in text.split(separator: "\n") where line.hasSuffix(" kB") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let number = line[line.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\t" }).first
            if let number, let value = Int(number) { values[String(line[..<colon])] = value }
        }
        return values
    }
}

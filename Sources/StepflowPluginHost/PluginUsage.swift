/// What a plugin instance has cost and handed over since it was created (docs/profiler.md, "Plugins and jobs").
public struct PluginUsage: Sendable, Hashable {
    /// Calls that returned (or, isolated, were answered).
    public var calls: UInt64 = 0
    /// CPU seconds of its calls. In-process: read from the thread CPU clock on the instance's own queue around each
    /// call (threads the plugin starts itself are not counted). Isolated: the runner processes' user and system
    /// time, read after each call, carried over runner restarts.
    public var cpuSeconds: Double = 0
    /// The runner's resident memory as of its last call (isolated plugins only).
    public var memoryBytes: UInt64?
    /// Samples the plugin handed over (metrics collectors).
    public var samples: UInt64 = 0
    /// Bytes it handed over: isolated, the replies read from the runner; in-process, the batch's strings and
    /// fixed-size records.
    public var bytes: UInt64 = 0

    public init() {}
}

import GRDBSQLite

/// What SQLite's allocator holds in this process: its page caches, prepared statements and schema
/// (`sqlite3_memory_used`), for the memory split of `GET /api/v1/profile`.
public enum SQLiteMemory {
    /// Bytes SQLite has allocated and not freed.
    public static var used: Int64 { sqlite3_memory_used() }
}

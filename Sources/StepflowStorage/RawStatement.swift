import GRDB
import GRDBSQLite

/// One statement prepared on GRDB's connection and driven through the sqlite3 C API: for the insert loops of
/// the write path, where GRDB's `StatementArguments` (an array and a boxed value per column per row) would cost
/// more than SQLite itself. Used only inside a `pool.write` closure, so GRDB still owns the transaction.
struct RawStatement {
    private let handle: OpaquePointer
    private let connection: OpaquePointer?

    /// `SQLITE_TRANSIENT`: SQLite copies the text it is given.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    /// Runs `body` with `sql` prepared on this connection. The statement is GRDB's cached one (prepared once per
    /// connection and kept), reset and cleared before and after, so a batch costs no prepare and no finalize.
    static func with<Result>(_ sql: String, in db: Database, _ body: (RawStatement) throws -> Result) throws -> Result {
        let handle = try db.cachedStatement(sql: sql).sqliteStatement
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        defer {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
        }
        return try body(RawStatement(handle: handle, connection: db.sqliteConnection))
    }

    /// The raw handle, for binding borrowed text (see `MetricStore.insert`).
    var sqliteStatement: OpaquePointer { handle }

    /// Binds a copy of `text`, or NULL.
    func bind(_ index: Int32, _ text: String?) {
        guard var text else {
            sqlite3_bind_null(handle, index)
            return
        }
        text.withUTF8 { utf8 in
            // An empty string still needs a non-NULL pointer, or SQLite stores NULL.
            guard let base = utf8.baseAddress, utf8.count > 0 else {
                sqlite3_bind_text(handle, index, "", 0, Self.transient)
                return
            }
            base.withMemoryRebound(to: CChar.self, capacity: utf8.count) {
                _ = sqlite3_bind_text(handle, index, $0, Int32(utf8.count), Self.transient)
            }
        }
    }

    func bind(_ index: Int32, _ value: Int64?) {
        if let value { sqlite3_bind_int64(handle, index, value) } else { sqlite3_bind_null(handle, index) }
    }

    /// Runs the statement once with what is bound, then resets it and clears its bindings.
    func step() throws {
        try check(run())
    }

    /// ``step()`` without throwing, for callers binding borrowed text that must run it inside their closures:
    /// returns SQLite's result code for ``check(_:)``.
    func run() -> Int32 {
        let code = sqlite3_step(handle)
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        return code
    }

    /// Throws SQLite's error unless `code` is `SQLITE_DONE`.
    func check(_ code: Int32) throws {
        guard code == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: Self.message(connection))
        }
    }

    private static func message(_ connection: OpaquePointer?) -> String {
        connection.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) } ?? "unknown error"
    }
}

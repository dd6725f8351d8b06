import GRDB

/// The schema: the spec's six tables plus the indexes queries need, created by one `DatabaseMigrator`.
///
/// Timestamps are stored as Unix milliseconds (`INTEGER`) in the spec's `DATETIME` columns: it is what the
/// hot write path binds fastest (README, "Design notes") and it sorts and compares as time does.
/// Migrations are append-only: never edit a registered one, add a new one.
enum Migrations {
    /// SQL for "now" in Unix milliseconds, for column defaults.
    static let nowMilliseconds = "(CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))"

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-spec-tables") { db in
            try db.execute(sql: """
                CREATE TABLE monitoring_metrics (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    name TEXT NOT NULL,
                    value_type TEXT NOT NULL,
                    value_data TEXT NOT NULL,
                    labels TEXT,
                    timestamp DATETIME NOT NULL DEFAULT \(nowMilliseconds),
                    metadata TEXT
                );
                CREATE INDEX monitoring_metrics_name_timestamp ON monitoring_metrics(name, timestamp);
                CREATE INDEX monitoring_metrics_timestamp ON monitoring_metrics(timestamp);

                CREATE TABLE monitoring_logs (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    log_id TEXT NOT NULL,
                    level TEXT NOT NULL,
                    message TEXT NOT NULL,
                    trace_id TEXT,
                    span_id TEXT,
                    user_id TEXT,
                    request_id TEXT,
                    component TEXT NOT NULL,
                    module TEXT NOT NULL,
                    function TEXT NOT NULL,
                    line INTEGER,
                    context TEXT,
                    timestamp DATETIME NOT NULL DEFAULT \(nowMilliseconds),
                    metadata TEXT
                );
                CREATE INDEX monitoring_logs_timestamp ON monitoring_logs(timestamp);
                CREATE INDEX monitoring_logs_level_timestamp ON monitoring_logs(level, timestamp);
                CREATE INDEX monitoring_logs_component_timestamp ON monitoring_logs(component, timestamp);
                CREATE INDEX monitoring_logs_trace_id ON monitoring_logs(trace_id) WHERE trace_id IS NOT NULL;

                CREATE TABLE monitoring_traces (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    trace_id TEXT NOT NULL,
                    span_id TEXT NOT NULL,
                    parent_span_id TEXT,
                    name TEXT NOT NULL,
                    start_time DATETIME NOT NULL,
                    end_time DATETIME,
                    events TEXT,
                    metadata TEXT,
                    status TEXT NOT NULL,
                    created_at DATETIME NOT NULL DEFAULT \(nowMilliseconds)
                );
                CREATE INDEX monitoring_traces_trace_id ON monitoring_traces(trace_id);
                CREATE UNIQUE INDEX monitoring_traces_span_id ON monitoring_traces(trace_id, span_id);
                CREATE INDEX monitoring_traces_name_start ON monitoring_traces(name, start_time);
                CREATE INDEX monitoring_traces_start ON monitoring_traces(start_time);

                CREATE TABLE monitoring_alerts (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    alert_id TEXT NOT NULL,
                    rule_id TEXT NOT NULL,
                    name TEXT NOT NULL,
                    description TEXT,
                    severity TEXT NOT NULL,
                    status TEXT NOT NULL,
                    labels TEXT,
                    annotations TEXT,
                    value REAL,
                    fired_at DATETIME NOT NULL DEFAULT \(nowMilliseconds),
                    resolved_at DATETIME,
                    acknowledged_at DATETIME,
                    acknowledged_by TEXT,
                    resolved_by TEXT
                );
                CREATE UNIQUE INDEX monitoring_alerts_alert_id ON monitoring_alerts(alert_id);
                CREATE INDEX monitoring_alerts_rule_status ON monitoring_alerts(rule_id, status);
                CREATE INDEX monitoring_alerts_status_fired ON monitoring_alerts(status, fired_at);

                CREATE TABLE monitoring_alert_rules (
                    id TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    description TEXT,
                    query TEXT NOT NULL,
                    condition TEXT NOT NULL,
                    severity TEXT NOT NULL,
                    labels TEXT,
                    annotations TEXT,
                    for_duration_seconds INTEGER,
                    evaluation_interval_seconds INTEGER,
                    enabled BOOLEAN NOT NULL DEFAULT true,
                    created_at DATETIME NOT NULL DEFAULT \(nowMilliseconds),
                    updated_at DATETIME NOT NULL DEFAULT \(nowMilliseconds)
                );
                CREATE UNIQUE INDEX monitoring_alert_rules_name ON monitoring_alert_rules(name);

                CREATE TABLE monitoring_health_checks (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    component TEXT NOT NULL,
                    status TEXT NOT NULL,
                    message TEXT,
                    details TEXT,
                    last_check DATETIME NOT NULL DEFAULT \(nowMilliseconds),
                    response_time_ms INTEGER,
                    created_at DATETIME NOT NULL DEFAULT \(nowMilliseconds)
                );
                CREATE INDEX monitoring_health_checks_component_time ON monitoring_health_checks(component, last_check);
                """)
        }
        migrator.registerMigration("v2-metric-families-and-aggregates") { db in
            try db.execute(sql: """
                CREATE TABLE monitoring_metric_families (
                    name TEXT PRIMARY KEY,
                    value_type TEXT NOT NULL,
                    help TEXT,
                    updated_at INTEGER NOT NULL
                ) WITHOUT ROWID;

                CREATE TABLE monitoring_metric_aggregates (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    name TEXT NOT NULL,
                    value_type TEXT NOT NULL,
                    labels TEXT NOT NULL,
                    interval_start INTEGER NOT NULL,
                    interval_ms INTEGER NOT NULL,
                    samples INTEGER NOT NULL,
                    min REAL,
                    max REAL,
                    sum REAL,
                    last REAL,
                    last_value_data TEXT NOT NULL,
                    last_timestamp INTEGER NOT NULL
                );
                CREATE UNIQUE INDEX monitoring_metric_aggregates_series_start
                    ON monitoring_metric_aggregates(name, labels, interval_start);
                CREATE INDEX monitoring_metric_aggregates_start ON monitoring_metric_aggregates(interval_start);
                """)
        }
        migrator.registerMigration("v3-logs-and-traces") { db in
            try db.execute(sql: """
                ALTER TABLE monitoring_logs ADD COLUMN source TEXT;
                CREATE INDEX monitoring_logs_request_id ON monitoring_logs(request_id) WHERE request_id IS NOT NULL;

                CREATE TABLE monitoring_export_positions (
                    exporter TEXT PRIMARY KEY,
                    position INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v4-alerting") { db in
            // The spec's alert tables hold a rule and an alert's outcome; what evaluation needs to survive a
            // restart (when the condition started holding, what was last notified) goes in added columns.
            // `fired_at` keeps the spec's meaning of when the alert began (pending included); `firing_since`
            // is when it started firing.
            try db.execute(sql: """
                ALTER TABLE monitoring_alert_rules ADD COLUMN keep_firing_for_seconds REAL;
                ALTER TABLE monitoring_alert_rules ADD COLUMN source TEXT;

                ALTER TABLE monitoring_alerts ADD COLUMN fingerprint TEXT NOT NULL DEFAULT '';
                ALTER TABLE monitoring_alerts ADD COLUMN value_text TEXT;
                ALTER TABLE monitoring_alerts ADD COLUMN firing_since DATETIME;
                ALTER TABLE monitoring_alerts ADD COLUMN last_active_at DATETIME;
                ALTER TABLE monitoring_alerts ADD COLUMN acknowledgement_message TEXT;
                ALTER TABLE monitoring_alerts ADD COLUMN resolution_message TEXT;
                ALTER TABLE monitoring_alerts ADD COLUMN silenced_by TEXT;
                ALTER TABLE monitoring_alerts ADD COLUMN notified_status TEXT;
                CREATE INDEX monitoring_alerts_rule_fingerprint ON monitoring_alerts(rule_id, fingerprint);

                CREATE TABLE monitoring_silences (
                    id TEXT PRIMARY KEY,
                    matchers TEXT NOT NULL,
                    starts_at INTEGER NOT NULL,
                    ends_at INTEGER NOT NULL,
                    created_by TEXT NOT NULL,
                    comment TEXT NOT NULL,
                    created_at INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX monitoring_silences_ends_at ON monitoring_silences(ends_at);
                """)
        }
        return migrator
    }

    /// The names of the tables the schema creates: the spec's six in its order, then ours.
    static let tableNames = [
        "monitoring_metrics", "monitoring_logs", "monitoring_traces",
        "monitoring_alerts", "monitoring_alert_rules", "monitoring_health_checks",
        "monitoring_metric_families", "monitoring_metric_aggregates", "monitoring_export_positions",
        "monitoring_silences",
    ]
}

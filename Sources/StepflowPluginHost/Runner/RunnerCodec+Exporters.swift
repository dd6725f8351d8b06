import Foundation

/// Payloads of the log-exporter and notifier requests a host sends a runner.
extension RunnerCodec {
    /// `exportLogs`: a count, then each record's fields in `stepflow_log_record` order; absent optionals are
    /// flagged with a `u8`.
    static func exportLogsRequest(_ records: [PluginLogRecord]) -> [UInt8] {
        var writer = Writer()
        writer.u32(records.count)
        for record in records {
            writer.string(record.id)
            writer.u32(UInt32(bitPattern: record.level.rawValue))
            writer.string(record.message)
            writer.i64(milliseconds(record.timestamp))
            for text in [record.source, record.component, record.module, record.function] { writer.string(text) }
            writer.i64(Int64(record.line ?? -1))
            for optional in [record.traceID, record.spanID, record.userID, record.requestID] {
                writer.u8(optional == nil ? 0 : 1)
                writer.string(optional ?? "")
            }
            pairs(record.fields, into: &writer)
        }
        return writer.bytes
    }

    static func decodeExportLogsRequest(_ bytes: [UInt8]) throws(RunnerCodecError) -> [PluginLogRecord] {
        var reader = Reader(bytes)
        let count = try reader.count("record count", minimumBytesEach: 60)
        var records: [PluginLogRecord] = []
        records.reserveCapacity(count)
        for _ in 0..<count {
            let id = try reader.string("record id")
            let rawLevel = Int32(bitPattern: try reader.u32("level"))
            guard let level = PluginLogRecord.Level(rawValue: rawLevel) else {
                throw RunnerCodecError("unknown log level \(rawLevel)")
            }
            let message = try reader.string("message")
            let timestamp = date(try reader.i64("timestamp"))
            let source = try reader.string("source")
            let component = try reader.string("component")
            let module = try reader.string("module")
            let function = try reader.string("function")
            let line = try reader.i64("line")
            var optionals: [String?] = []
            for what in ["trace id", "span id", "user id", "request id"] {
                let present = try reader.u8("\(what) flag") != 0
                let text = try reader.string(what)
                optionals.append(present ? text : nil)
            }
            records.append(PluginLogRecord(
                id: id, level: level, message: message, timestamp: timestamp, source: source, component: component,
                module: module, function: function, line: line < 0 ? nil : Int(line), traceID: optionals[0],
                spanID: optionals[1], userID: optionals[2], requestID: optionals[3],
                fields: try decodePairs(&reader, "field")))
        }
        try reader.finish()
        return records
    }

    /// `notify`: one alert.
    static func notifyRequest(_ alert: PluginAlert) -> [UInt8] {
        var writer = Writer()
        for text in [alert.alertID, alert.ruleID, alert.name, alert.description, alert.severity, alert.status] {
            writer.string(text)
        }
        pairs(alert.labels, into: &writer)
        pairs(alert.annotations, into: &writer)
        writer.f64(alert.value)
        writer.i64(milliseconds(alert.firedAt))
        writer.u8(alert.resolvedAt == nil ? 0 : 1)
        writer.i64(alert.resolvedAt.map(milliseconds) ?? 0)
        return writer.bytes
    }

    static func decodeNotifyRequest(_ bytes: [UInt8]) throws(RunnerCodecError) -> PluginAlert {
        var reader = Reader(bytes)
        var texts: [String] = []
        for what in ["alert id", "rule id", "name", "description", "severity", "status"] {
            texts.append(try reader.string(what))
        }
        let labels = try decodePairs(&reader, "label")
        let annotations = try decodePairs(&reader, "annotation")
        let value = try reader.f64("value")
        let firedAt = date(try reader.i64("fired at"))
        let resolved = try reader.u8("resolved flag") != 0
        let resolvedAt = date(try reader.i64("resolved at"))
        try reader.finish()
        return PluginAlert(
            alertID: texts[0], ruleID: texts[1], name: texts[2], description: texts[3], severity: texts[4],
            status: texts[5], labels: labels, annotations: annotations, value: value, firedAt: firedAt,
            resolvedAt: resolved ? resolvedAt : nil)
    }

    /// `acknowledge`: alert id, user, message.
    static func acknowledgeRequest(alertID: String, user: String, message: String) -> [UInt8] {
        var writer = Writer()
        for text in [alertID, user, message] { writer.string(text) }
        return writer.bytes
    }

    static func decodeAcknowledgeRequest(_ bytes: [UInt8]) throws(RunnerCodecError) -> (
        alertID: String, user: String, message: String
    ) {
        var reader = Reader(bytes)
        let result = (try reader.string("alert id"), try reader.string("user"), try reader.string("message"))
        try reader.finish()
        return result
    }

    private static func pairs(_ pairs: [(name: String, value: String)], into writer: inout Writer) {
        writer.u32(pairs.count)
        for pair in pairs {
            writer.string(pair.name)
            writer.string(pair.value)
        }
    }

    private static func decodePairs(_ reader: inout Reader, _ what: String) throws(RunnerCodecError)
        -> [(name: String, value: String)]
    {
        let count = try reader.count("\(what) count", minimumBytesEach: 8)
        var pairs: [(name: String, value: String)] = []
        pairs.reserveCapacity(count)
        for _ in 0..<count { pairs.append((try reader.string("\(what) name"), try reader.string("\(what) value"))) }
        return pairs
    }

    private static func milliseconds(_ date: Date) -> Int64 {
        Int64(exactly: (date.timeIntervalSince1970 * 1000).rounded()) ?? 0
    }

    private static func date(_ milliseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }
}

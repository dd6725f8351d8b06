import StepflowPluginSDK

/// The plugin's entry symbol: the only symbol the library exports.
@_cdecl("stepflow_plugin_register")
public func stepflowPluginRegister(_ host: UnsafeRawPointer?) -> UnsafeRawPointer? {
    StepflowPluginExport.alertNotifier(FileNotifier.self, host: host)
}

/// Appends one JSON line per notification and per acknowledgment to the file named by the `path` setting
/// (required; created with mode 0644 when missing):
///
/// ```json
/// {"kind":"notification","alert_id":"a1","rule_id":"r1","name":"HighLoad","description":"…","severity":"critical",
///  "status":"firing","value":4.2,"fired_at_ms":1700000000000,"resolved_at_ms":null,"labels":{"host":"db1"},
///  "annotations":{"runbook":"…"}}
/// {"kind":"acknowledgment","alert_id":"a1","user":"ops","message":"looking"}
/// ```
public struct FileNotifier: CustomAlertNotifier {
    public static let notifierName = "file-notifier"
    public static let supportedChannels = ["file"]
    public static let version = "1.0.0"
    public static let description = "Appends alert notifications and acknowledgments to a file as JSON lines"

    private let file: AppendOnlyFile

    public init(settings: PluginSettings, logger: PluginLogger) throws {
        try settings.rejectUnknownKeys(["path"])
        guard let path = settings["path"], !path.isEmpty else {
            throw PluginFailure.invalid("setting 'path' is required: the file to append notification lines to")
        }
        file = try AppendOnlyFile(path: path)
        logger.debug("appending notifications to \(path)")
    }

    public func sendNotification(_ alert: Alert) throws {
        var line = JSONLine()
        line.add("kind", "notification")
        line.add("alert_id", alert.alertID)
        line.add("rule_id", alert.ruleID)
        line.add("name", alert.name)
        line.add("description", alert.description)
        line.add("severity", alert.severity)
        line.add("status", alert.status)
        line.add("value", number: alert.value)
        line.add("fired_at_ms", integer: alert.firedAtMilliseconds)
        line.add("resolved_at_ms", integer: alert.resolvedAtMilliseconds)
        line.add("labels", pairs: alert.labels)
        line.add("annotations", pairs: alert.annotations)
        try file.append(line.finished())
    }

    public func sendAcknowledgment(alertID: String, user: String, message: String) throws {
        var line = JSONLine()
        line.add("kind", "acknowledgment")
        line.add("alert_id", alertID)
        line.add("user", user)
        line.add("message", message)
        try file.append(line.finished())
    }
}

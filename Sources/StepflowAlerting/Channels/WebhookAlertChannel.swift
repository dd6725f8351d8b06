import AsyncHTTPClient
import StepflowCore

/// POSTs notifications as JSON to a URL (`alerts.webhook_url`):
/// `{"receiver": "stepflow-monitor", "notifications": [{"event", "user", "message", "alert": {…}}]}`, one request
/// per batch, the alert as the HTTP API writes it (docs/alerting.md). Any 2xx answer is success.
public struct WebhookAlertChannel: AlertChannel {
    public let name = "webhook"
    public let url: String
    private let poster: JSONPoster
    private let timeout: Duration

    /// - Parameter timeout: the deadline of one request (the notifier retries within its own timeout).
    public init(url: String, timeout: Duration = .seconds(10), client: HTTPClient = .shared) {
        self.url = url
        self.timeout = timeout
        poster = JSONPoster(client: client)
    }

    public func send(_ notifications: [AlertNotification]) async throws(MonitoringError) {
        let body = JSONValue.object([
            "receiver": "stepflow-monitor", "notifications": .array(notifications.map(\.json)),
        ])
        try await poster.post(body, to: url, timeout: timeout)
    }
}

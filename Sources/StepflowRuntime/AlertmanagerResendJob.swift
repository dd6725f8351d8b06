import StepflowExport
import StepflowScheduling

/// Re-sends the firing alerts to Alertmanager every resend interval, so that it keeps them open.
final class AlertmanagerResendJob: ScheduledJob {
    let name = "alertmanager:resend"
    let kind = "builtin"
    private let channel: AlertmanagerAlertChannel

    init(channel: AlertmanagerAlertChannel) {
        self.channel = channel
    }

    func run() async throws {
        try await channel.resendActive()
    }
}

import StepflowCore
import StepflowScheduling

/// Re-sends the firing alerts to Alertmanager every resend interval, so that it keeps them open.
package final class AlertmanagerResendJob: ScheduledJob {
    package let name = "alertmanager:resend"
    package let kind = "builtin"
    private let channel: AlertmanagerAlertChannel

    package init(channel: AlertmanagerAlertChannel) {
        self.channel = channel
    }

    package func run() async throws {
        try await channel.resendActive()
    }
}

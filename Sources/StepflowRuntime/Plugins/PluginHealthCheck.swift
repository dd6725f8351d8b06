import StepflowCore
import StepflowHealth
import StepflowPluginHost

/// A plugin's component in `/health`: its job's state (see `JobHealthCheck`) plus what only the plugin knows,
/// its runner restarts and the samples refused so far.
struct PluginHealthCheck: HealthCheck {
    let job: JobHealthCheck<ContinuousClock>
    let collector: any PluginCollector
    let pluginJob: PluginCollectorJob

    func check() async -> HealthStatus {
        var status = await job.check()
        status.details["restarts"] = .int(Int64(collector.restarts))
        status.details["refused_samples"] = .int(Int64(clamping: pluginJob.refusedSamples.values.reduce(0, &+)))
        let series = pluginJob.seriesCounts
        status.details["series"] = .int(Int64(series.known))
        status.details["series_refused"] = .int(Int64(series.refused))
        return status
    }
}

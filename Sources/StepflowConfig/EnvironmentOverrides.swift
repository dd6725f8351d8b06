import StepflowCore

/// Applies `STEPFLOW_MONITORING_*` variables on top of a configuration. The variable of each key is named in
/// ``ConfigurationSchema/settings``, the one table of the mapping.
enum EnvironmentOverrides {
    /// Sets every key whose variable is in `environment`, and returns an issue for each variable that is not
    /// valid for its key or that the loader does not know.
    static func apply(
        _ environment: [String: String],
        to configuration: inout MonitoringConfiguration
    ) -> [ConfigurationIssue] {
        let settingsByVariable = Dictionary(
            uniqueKeysWithValues: ConfigurationSchema.settings.compactMap { setting in
                setting.environmentVariable.map { ($0, setting) }
            })
        var issues: [ConfigurationIssue] = []
        for (variable, text) in environment.sorted(by: { $0.key < $1.key })
        where variable.hasPrefix(ConfigurationSchema.environmentPrefix) {
            guard let setting = settingsByVariable[variable] else {
                if !ConfigurationLoader.reservedEnvironmentVariables.contains(variable) {
                    issues.append(unknownVariableIssue(variable, known: Array(settingsByVariable.keys)))
                }
                continue
            }
            switch setting.accessor.type.parse(text: text) {
            case .failure(let failure):
                issues.append(ConfigurationIssue(
                    file: nil, environmentVariable: variable, keyPath: setting.keyPath,
                    message: failure.message + "; fix or unset the variable"))
            case .success(let value):
                if let violation = setting.constraint.violation(of: value) {
                    issues.append(ConfigurationIssue(
                        file: nil, environmentVariable: variable, keyPath: setting.keyPath,
                        message: violation + "; fix or unset the variable"))
                } else {
                    setting.store(value, in: &configuration)
                }
            }
        }
        return issues
    }

    private static func unknownVariableIssue(_ variable: String, known: [String]) -> ConfigurationIssue {
        let candidates = known + ConfigurationLoader.reservedEnvironmentVariables
        if let suggestion = Suggestions.closest(to: variable, among: candidates) {
            return ConfigurationIssue(
                file: nil, environmentVariable: variable, keyPath: "",
                message: "unknown configuration variable; rename or unset it", suggestion: suggestion)
        }
        return ConfigurationIssue(
            file: nil, environmentVariable: variable, keyPath: "",
            message: "unknown configuration variable; unset it (docs/configuration.md lists the variables)")
    }
}

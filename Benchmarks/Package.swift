// swift-tools-version: 6.1
import PackageDescription

// package-benchmark suites for stepflow-monitoring. A package of its own so that the root `swift test` never
// builds package-benchmark; run with `scripts/bench.sh` (or `swift package --package-path Benchmarks benchmark`).

/// One package-benchmark suite: an executable in Benchmarks/<name> run by the benchmark plugin.
func suite(_ name: String, dependencies: [Target.Dependency]) -> Target {
    .executableTarget(
        name: name,
        dependencies: dependencies + [.product(name: "Benchmark", package: "benchmark")],
        path: "Benchmarks/\(name)",
        swiftSettings: [.swiftLanguageMode(.v6)],
        plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
    )
}

let package = Package(
    name: "stepflow-monitoring-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        // Named, because a path dependency is otherwise known by its directory name, which differs per checkout.
        .package(name: "stepflow-monitoring", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // The reference for the swift-metrics hot path (P2): the same Counter through PrometheusMetricsFactory.
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        // The C plugin the benchmarks load (compiled with `cc` at setup) and the code that builds it.
        .target(
            name: "IngestFixture",
            dependencies: [
                .product(name: "StepflowPluginHost", package: "stepflow-monitoring"),
                .product(name: "StepflowCore", package: "stepflow-monitoring"),
            ],
            exclude: ["ingest_plugin.c"],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // What the suites share: scratch directories, running programs, the sqlite_bench.c reference.
        .target(name: "BenchmarkSupport", swiftSettings: [.swiftLanguageMode(.v6)]),
        suite("PluginIngest", dependencies: [
            "IngestFixture",
            .product(name: "StepflowPluginHost", package: "stepflow-monitoring"),
        ]),
        suite("MetricsIngest", dependencies: [
            "BenchmarkSupport",
            .product(name: "StepflowMetrics", package: "stepflow-monitoring"),
            .product(name: "StepflowStorage", package: "stepflow-monitoring"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        suite("LogsAndTraces", dependencies: [
            "BenchmarkSupport",
            .product(name: "StepflowLogs", package: "stepflow-monitoring"),
            .product(name: "StepflowTracing", package: "stepflow-monitoring"),
            .product(name: "StepflowCore", package: "stepflow-monitoring"),
            .product(name: "StepflowStorage", package: "stepflow-monitoring"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        suite("AlertEvaluation", dependencies: [
            "BenchmarkSupport",
            .product(name: "StepflowAlerting", package: "stepflow-monitoring"),
            .product(name: "StepflowMetrics", package: "stepflow-monitoring"),
            .product(name: "StepflowStorage", package: "stepflow-monitoring"),
            .product(name: "StepflowCore", package: "stepflow-monitoring"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        suite("MetricsHotPath", dependencies: [
            .product(name: "StepflowMetrics", package: "stepflow-monitoring"),
            .product(name: "StepflowCore", package: "stepflow-monitoring"),
            .product(name: "StepflowStorage", package: "stepflow-monitoring"),
            .product(name: "StepflowServer", package: "stepflow-monitoring"),
            .product(name: "CoreMetrics", package: "swift-metrics"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        suite("PluginThroughput", dependencies: [
            "IngestFixture",
            .product(name: "StepflowPluginHost", package: "stepflow-monitoring"),
        ]),
    ]
)

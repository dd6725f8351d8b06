// swift-tools-version: 6.2
import PackageDescription

/// Every target of ours builds in Swift 6 mode with strict concurrency and treats warnings as errors.
let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .treatAllWarnings(as: .error),
]

let package = Package(
    name: "stepflow-monitoring",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "stepflow-monitor", targets: ["stepflow-monitor"]),
        // The whole host, for an application that embeds it (swift-log, swift-metrics and swift-distributed-tracing
        // backends included).
        .library(name: "StepflowRuntime", targets: ["StepflowRuntime"]),
        // Each capability on its own, for the `Benchmarks/` package and embedders that need one part.
        .library(name: "StepflowMetrics", targets: ["StepflowMetrics"]),
        .library(name: "StepflowLogs", targets: ["StepflowLogs"]),
        .library(name: "StepflowTracing", targets: ["StepflowTracing"]),
        .library(name: "StepflowAlerting", targets: ["StepflowAlerting"]),
        .library(name: "StepflowHealth", targets: ["StepflowHealth"]),
        .library(name: "StepflowExport", targets: ["StepflowExport"]),
        // What an embedding application needs beside the runtime: the spec's types, and the configuration loader.
        .library(name: "StepflowCore", targets: ["StepflowCore"]),
        .library(name: "StepflowConfig", targets: ["StepflowConfig"]),
        .library(name: "StepflowPluginSDK", targets: ["StepflowPluginSDK"]),
        // The plugin host on its own, for the `Benchmarks/` package (and embedders that only load plugins).
        .library(name: "StepflowPluginHost", targets: ["StepflowPluginHost"]),
        // Storage and the HTTP layer on their own, for the `Benchmarks/` package and embedders.
        .library(name: "StepflowStorage", targets: ["StepflowStorage"]),
        .library(name: "StepflowServer", targets: ["StepflowServer"]),
        // Example plugins: each is a shared library the host dlopen-s.
        .library(name: "StepflowSystemCollector", type: .dynamic, targets: ["StepflowSystemCollector"]),
        .library(name: "StepflowFilesystemCollector", type: .dynamic, targets: ["StepflowFilesystemCollector"]),
        .library(name: "StepflowFileLogExporter", type: .dynamic, targets: ["StepflowFileLogExporter"]),
        .library(name: "StepflowFileNotifier", type: .dynamic, targets: ["StepflowFileNotifier"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        // NIOCore's TimeAmount, for Hummingbird's idle timeout.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/pointfreeco/swift-clocks", from: "1.1.1"),
        .package(url: "https://github.com/swift-otel/swift-w3c-trace-context", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
        .package(url: "https://github.com/adam-fowler/compress-nio", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        // The remote-write messages; RemoteWrite.pb.swift is generated once (scripts/generate-protobuf.sh) and
        // committed, so the build never runs swift-protobuf's plugin.
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        // SHA-256 of bearer tokens (and, later, plugin pins).
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // The whole C ABI between the host and its plugins: one header, append-only.
        .target(name: "CStepflowPlugin"),

        // RE2 behind a C interface: linear-time regexes for selectors and alert queries (libre2-dev).
        .target(name: "CStepflowRE2", linkerSettings: [.linkedLibrary("re2")]),
        // POSIX helpers that must be C (code that runs in a signal handler; malloc_trim).
        .target(name: "CStepflowSystem"),

        // The spec's shared value types, protocols, errors and configuration model: what every capability speaks.
        .target(
            name: "StepflowCore",
            dependencies: [
                "CStepflowRE2",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "W3CTraceContext", package: "swift-w3c-trace-context"),
            ],
            swiftSettings: strict
        ),
        // Interval scheduling with jitter, deadlines and capped backoff, generic over Clock.
        .target(
            name: "StepflowScheduling",
            dependencies: [
                "StepflowCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // SQLite through GRDB: migrations, stores, the write queues and batch writers in front of them, retention
        // and the integrity check.
        .target(
            name: "StepflowStorage",
            dependencies: [
                "StepflowCore", "StepflowScheduling",
                .product(name: "GRDB", package: "GRDB.swift"),
                // The sqlite3 C API GRDB is built on, for the one hot insert loop (see MetricStore.insert).
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // Metrics: the in-memory series table, ingest with per-source budgets, aggregation, series expiry, the
        // process collector and the swift-metrics backend.
        .target(
            name: "StepflowMetrics",
            dependencies: [
                "StepflowCore", "StepflowScheduling", "StepflowStorage",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // Traces: the trace engine with sampling and span limits, and the swift-distributed-tracing backend.
        .target(
            name: "StepflowTracing",
            dependencies: [
                "StepflowCore", "StepflowScheduling", "StepflowStorage", "StepflowSecurity",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
            ],
            swiftSettings: strict
        ),
        // Logs: the log engine, the swift-log backend, export to files and exporter plugins.
        .target(
            name: "StepflowLogs",
            dependencies: [
                "StepflowCore", "StepflowScheduling", "StepflowStorage", "StepflowSecurity",
                // The active span of a log line is read from StepflowTracing's context key.
                "StepflowTracing",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // Health: the health monitor, its built-in checks and the job that stores their results.
        .target(
            name: "StepflowHealth",
            dependencies: [
                "StepflowCore", "StepflowScheduling", "StepflowStorage",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // Alerting: the query language, rules, the alert state machine and engine, silences, and notification
        // to the log, webhooks and Alertmanager.
        .target(
            name: "StepflowAlerting",
            dependencies: [
                "StepflowCore", "CStepflowRE2", "StepflowScheduling", "StepflowStorage", "StepflowMetrics", "StepflowHealth",
                "StepflowSecurity",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // Access control: principals, roles and bearer tokens kept as SHA-256 digests (docs/security.md).
        .target(
            name: "StepflowSecurity",
            dependencies: [
                "StepflowCore", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strict
        ),
        // The profiler: process groups from /proc, span metrics, measured blocks (docs/profiler.md).
        .target(
            name: "StepflowProfiler",
            dependencies: ["StepflowCore", "StepflowMetrics", "StepflowScheduling", "StepflowTracing"],
            swiftSettings: strict
        ),
        // YAML configuration loading (Yams node walk with marks), env overrides, validation (alert rules are
        // compiled with StepflowAlerting's query language, so a bad one names its line).
        .target(
            name: "StepflowConfig",
            dependencies: ["StepflowCore", "StepflowAlerting", "StepflowSecurity", "Yams"],
            resources: [.embedInCode("Resources/config.yaml")],
            swiftSettings: strict
        ),
        // dlopen, ABI negotiation, the host-API table, C↔Swift copying. The only module with unsafe pointers.
        .target(
            name: "StepflowPluginHost",
            dependencies: ["StepflowCore", "CStepflowPlugin", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        // The peers' wire formats, both ways: Prometheus remote write's and OTLP's messages (generated once by
        // scripts/generate-protobuf.sh and committed) and Snappy's block format.
        .target(
            name: "StepflowWireFormats",
            dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
            exclude: ["RemoteWrite/remote_write.proto", "OTLP/proto"],
            swiftSettings: strict
        ),
        // Outgoing data to the systems users scale out to: Prometheus remote write and the Elasticsearch bulk API
        // (AsyncHTTPClient), from stored positions.
        .target(
            name: "StepflowExport",
            dependencies: [
                "StepflowCore", "StepflowScheduling", "StepflowStorage", "StepflowSecurity", "StepflowWireFormats",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: strict
        ),
        // Incoming data in the peers' protocols (docs/ingest.md): the Prometheus remote-write receiver and the
        // OTLP/HTTP receiver, into the metrics, log and trace engines; the direct JSON ingest reader.
        .target(
            name: "StepflowIngest",
            dependencies: [
                "StepflowCore", "StepflowStorage", "StepflowMetrics", "StepflowLogs", "StepflowTracing",
                "StepflowWireFormats",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // Hummingbird routes and the Prometheus text encoder.
        .target(
            name: "StepflowServer",
            dependencies: [
                "StepflowCore", "StepflowStorage", "StepflowMetrics", "StepflowLogs", "StepflowTracing",
                "StepflowAlerting", "StepflowHealth", "StepflowSecurity", "StepflowIngest",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strict
        ),
        // Composition: each capability's builder, the plugins wired to the engines, reload, one ServiceGroup.
        .target(
            name: "StepflowRuntime",
            dependencies: [
                "CStepflowSystem", "StepflowCore", "StepflowConfig", "StepflowStorage", "StepflowScheduling", "StepflowPluginHost",
                "StepflowMetrics", "StepflowLogs", "StepflowTracing", "StepflowAlerting", "StepflowHealth",
                "StepflowServer", "StepflowExport", "StepflowSecurity", "StepflowProfiler", "StepflowIngest",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "stepflow-monitor",
            dependencies: [
                "CStepflowSystem", "StepflowRuntime", "StepflowConfig", "StepflowPluginHost", "StepflowCore", "StepflowStorage",
                "StepflowMetrics", "StepflowAlerting", "StepflowSecurity",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                // The CLI's requests to a running host (URLSession's FoundationNetworking would link libcurl).
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),

        // What a Swift plugin author imports; compiled into each plugin, never shared with the host.
        .target(
            name: "StepflowPluginSDK",
            dependencies: ["CStepflowPlugin"],
            swiftSettings: strict
        ),

        // Example plugins. SwiftPM reserves Plugins/ for package plugins, hence the explicit paths.
        .target(
            name: "StepflowSystemCollector",
            dependencies: ["StepflowPluginSDK"],
            path: "Plugins/SystemCollector",
            swiftSettings: strict
        ),
        .target(
            name: "StepflowFilesystemCollector",
            dependencies: ["CStepflowPlugin"],
            path: "Plugins/FilesystemCollector"
        ),
        // A C log exporter: NDJSON lines appended to a file.
        .target(
            name: "StepflowFileLogExporter",
            dependencies: ["CStepflowPlugin"],
            path: "Plugins/FileLogExporter"
        ),
        // A Swift (SDK) alert notifier: JSON lines appended to a file.
        .target(
            name: "StepflowFileNotifier",
            dependencies: ["StepflowPluginSDK"],
            path: "Plugins/FileNotifier",
            swiftSettings: strict
        ),

        // Tests mirror Sources. StepflowTestSupport holds what several test targets share.
        .target(
            name: "StepflowTestSupport",
            dependencies: [.product(name: "Logging", package: "swift-log")],
            path: "Tests/StepflowTestSupport",
            swiftSettings: strict
        ),
        .testTarget(
            name: "StepflowCoreTests",
            dependencies: ["StepflowTestSupport", "StepflowCore"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "StepflowWireFormatsTests",
            dependencies: ["StepflowTestSupport", "StepflowWireFormats"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "StepflowIngestTests",
            dependencies: [
                "StepflowTestSupport", "StepflowIngest", "StepflowWireFormats", "StepflowCore", "StepflowMetrics",
                "StepflowStorage", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "StepflowStorageTests",
            dependencies: [
                "StepflowTestSupport", "StepflowStorage", "StepflowCore", "StepflowScheduling",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "StepflowSchedulingTests",
            dependencies: [
                "StepflowTestSupport", "StepflowScheduling", "StepflowCore",
                .product(name: "Clocks", package: "swift-clocks"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "StepflowMetricsTests",
            dependencies: [
                "StepflowTestSupport",
                "StepflowCore",
                "StepflowStorage",
                "StepflowScheduling",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
                "StepflowMetrics",
                .product(name: "Clocks", package: "swift-clocks"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "StepflowLogsTests",
            dependencies: [
                "StepflowTestSupport",
                "StepflowCore",
                "StepflowStorage",
                "StepflowScheduling",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
                "StepflowLogs",
                "StepflowTracing",
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "StepflowTracingTests",
            dependencies: [
                "StepflowTestSupport",
                "StepflowCore",
                "StepflowStorage",
                "StepflowScheduling",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
                "StepflowTracing",
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "StepflowSecurityTests",
            dependencies: ["StepflowTestSupport", "StepflowCore", "StepflowSecurity"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "StepflowProfilerTests",
            dependencies: ["StepflowTestSupport", "StepflowCore", "StepflowProfiler"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "StepflowHealthTests",
            dependencies: [
                "StepflowTestSupport",
                "StepflowCore",
                "StepflowStorage",
                "StepflowScheduling",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
                "StepflowHealth",
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "StepflowAlertingTests",
            dependencies: [
                "StepflowTestSupport",
                "StepflowCore",
                "StepflowStorage",
                "StepflowScheduling",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
                "StepflowAlerting",
                "StepflowMetrics",
                "StepflowHealth",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "StepflowRuntimeTests",
            dependencies: ["StepflowTestSupport",
                "StepflowRuntime", "StepflowConfig", "StepflowStorage", "StepflowCore",
                "StepflowPluginHost", "StepflowServer", "StepflowExport", "StepflowMetrics", "StepflowLogs",
                "StepflowTracing", "StepflowAlerting", "StepflowHealth", "StepflowScheduling", "StepflowWireFormats",
                "StepflowIngest",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            // C sources the tests compile into plugins themselves.
            exclude: ["Fixtures"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "StepflowServerTests",
            dependencies: ["StepflowTestSupport", "StepflowServer", "StepflowCore", "StepflowStorage"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "StepflowPluginHostTests",
            dependencies: ["StepflowTestSupport", "StepflowPluginHost", "StepflowCore", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        // Repository-wide checks on the sources themselves (issue 11's list of trapping conversions).
        .testTarget(
            name: "SourceLintTests",
            swiftSettings: strict
        ),
        .testTarget(
            name: "StepflowConfigTests",
            dependencies: ["StepflowTestSupport", "StepflowConfig", "StepflowCore"],
            swiftSettings: strict
        ),
    ],
    // RE2's headers need C++17.
    cxxLanguageStandard: .cxx17
)

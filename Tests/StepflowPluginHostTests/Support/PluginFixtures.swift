import Foundation
import StepflowTestSupport

/// Where the example plugins were built, and the broken fixture plugins compiled for the tests.
enum PluginFixtures {
    struct SetupError: Error, CustomStringConvertible {
        let description: String
    }

    /// The fixture variants: `-D` flags for the compiler, by name.
    static let variants: [String: [String]] = [
        "valid": [],
        "no_entry": ["-DFIXTURE_NO_ENTRY"],
        "entry_null": ["-DFIXTURE_ENTRY_NULL"],
        "abi99": ["-DFIXTURE_ABI=99"],
        "too_small": ["-DFIXTURE_STRUCT_SIZE=16"],
        "null_name": ["-DFIXTURE_NULL_NAME"],
        "no_collect": ["-DFIXTURE_NO_COLLECT"],
        "create_fails": ["-DFIXTURE_CREATE_FAILS"],
        "create_slow": ["-DFIXTURE_CREATE_SLOW"],
    ]

    /// The build products directory (`.build/<triple>/debug`): the directory holding the test bundle.
    static func binPath() throws -> URL {
        var candidates: [URL] = []
        if let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(URL(fileURLWithPath: executable).deletingLastPathComponent())
        }
        candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent())
        candidates.append(URL(fileURLWithPath: Bundle.main.bundlePath))
        candidates.append(packageRoot.appendingPathComponent(".build/debug"))
        for candidate in candidates {
            // A `.xctest` bundle directory sits beside the libraries; on Linux the bundle is the executable.
            let directory = candidate.pathExtension == "xctest" ? candidate.deletingLastPathComponent() : candidate
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent("libStepflowSystemCollector.so").path) {
                return directory
            }
        }
        throw SetupError(
            description: "libStepflowSystemCollector.so not found beside the test bundle (looked in "
                + candidates.map(\.path).joined(separator: ", ") + "); run `swift build` first")
    }

    /// The package's root directory, from this file's path.
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The ABI header's directory.
    static let headerDirectory = packageRoot.appendingPathComponent("Sources/CStepflowPlugin/include")

    /// The Swift system collector built by SwiftPM.
    static func systemCollector() throws -> String {
        try binPath().appendingPathComponent("libStepflowSystemCollector.so").path
    }

    /// The C filesystem collector built by SwiftPM.
    static func filesystemCollector() throws -> String {
        try binPath().appendingPathComponent("libStepflowFilesystemCollector.so").path
    }

    /// The C file log exporter built by SwiftPM.
    static func fileLogExporter() throws -> String {
        try binPath().appendingPathComponent("libStepflowFileLogExporter.so").path
    }

    /// The Swift (SDK) file notifier built by SwiftPM.
    static func fileNotifier() throws -> String {
        try binPath().appendingPathComponent("libStepflowFileNotifier.so").path
    }

    /// The compiled fixtures, built once per test process.
    static func compiled() throws -> Compiled { try compiledResult.get() }

    private static let compiledResult: Result<Compiled, SetupError> = Result { try Compiled.build() }
        .mapError { $0 as? SetupError ?? SetupError(description: "\($0)") }

    /// A temp directory holding every fixture library.
    struct Compiled: Sendable {
        let directory: URL

        /// The library of a variant in ``PluginFixtures/variants``, or `needs_dep`, or `not_a_library`.
        func path(_ variant: String) -> String {
            directory.appendingPathComponent("lib\(variant).so").path
        }

        static func build() throws -> Compiled {
            let directory = Scratch.rootURL
                .appendingPathComponent("stepflow-plugin-fixtures-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let source = directory.appendingPathComponent("fixture.c")
            try FixturePluginSource.plugin.write(to: source, atomically: true, encoding: .utf8)
            let dependencySource = directory.appendingPathComponent("dependency.c")
            try FixturePluginSource.dependency.write(to: dependencySource, atomically: true, encoding: .utf8)

            // The dependency goes into a subdirectory the loader never searches.
            let hidden = directory.appendingPathComponent("hidden")
            try FileManager.default.createDirectory(at: hidden, withIntermediateDirectories: true)
            try compile(dependencySource, to: hidden.appendingPathComponent("libfixturedep.so"), flags: [])

            for (name, flags) in variants {
                try compile(source, to: directory.appendingPathComponent("lib\(name).so"), flags: flags)
            }
            try compile(
                source, to: directory.appendingPathComponent("libneeds_dep.so"),
                flags: ["-DFIXTURE_NEEDS_DEP", "-L", hidden.path, "-lfixturedep"])
            try "this is not an ELF file\n".write(
                to: directory.appendingPathComponent("libnot_a_library.so"), atomically: true, encoding: .utf8)
            return Compiled(directory: directory)
        }

        private static func compile(_ source: URL, to output: URL, flags: [String]) throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["cc", "-shared", "-fPIC", "-I", headerDirectory.path, "-o", output.path, source.path] + flags
            let errors = Pipe()
            process.standardError = errors
            try process.run()
            let message = ChildProcess.readToEnd(errors.fileHandleForReading.fileDescriptor)
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw SetupError(
                    description: "cc failed for \(output.lastPathComponent): " + String(decoding: message, as: UTF8.self))
            }
        }
    }

    /// A fresh path in the temp directory that does not exist yet (used as a gate file).
    static func freshPath(_ name: String) -> String {
        Scratch.rootURL.appendingPathComponent("\(name)-\(UUID().uuidString)").path
    }
}

import Foundation
import StepflowTestSupport

/// Compiles a C plugin source written in a test into a shared library in a temp directory.
enum CSourceCompiler {
    static func build(_ source: String, name: String, flags: [String] = []) throws -> String {
        let directory = Scratch.rootURL.appendingPathComponent("stepflow-c-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent("\(name).c")
        try source.write(to: file, atomically: true, encoding: .utf8)
        let output = directory.appendingPathComponent("lib\(name).so")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["cc", "-shared", "-fPIC", "-I", PluginFixtures.headerDirectory.path, "-o", output.path, file.path]
            + flags
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let message = ChildProcess.readToEnd(errors.fileHandleForReading.fileDescriptor)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw PluginFixtures.SetupError(description: "cc failed for \(name): " + String(decoding: message, as: UTF8.self))
        }
        return output.path
    }
}

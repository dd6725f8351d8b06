import Foundation
import StepflowTestSupport

/// A real browser for the dashboard tests: Debian's headless Chromium driven through `chromedriver` by Selenium
/// (from PyPI, in the virtual environment `.ci/run` makes). Each page is loaded, given time to run its scripts,
/// and reported as a user's browser saw it: the console's errors, whether any injected script ran (a hostile value
/// that sets `window.__stepflowInjected`), the visible text, and a PNG screenshot.
enum BrowserSession {
    /// What the browser saw of one page.
    struct PageReport: Decodable, Sendable {
        let url: String
        let title: String
        let text: String
        let consoleErrors: [String]
        let injected: Bool
        let htmlBytes: Int
        let screenshot: String
    }

    /// The Python with Selenium, or `nil`.
    static let python: String? = pythonImporting("selenium")

    /// The Chromium executable (Debian's wrapper script runs it with its own flags; the binary itself is used).
    static var chromium: String? {
        ["/usr/lib/chromium/chromium", ChildProcess.find("chromium")].compactMap { $0 }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static var chromedriver: String? { ChildProcess.find("chromedriver") }

    /// Whether every part is installed: Chromium, chromedriver and Selenium.
    static var available: Bool { python != nil && chromium != nil && chromedriver != nil }

    /// What is missing, as a sentence for a failed or skipped test.
    static var missing: String {
        "needs Debian's chromium and chromium-driver and a Python with selenium (set STEPFLOW_OTEL_PYTHON); .ci/run installs them"
    }

    /// Where screenshots are kept (the test's scratch directory; printed by the tests that take them).
    static var screenshotDirectory: String { Scratch.rootURL.appendingPathComponent("screenshots").path }

    static let script = #"""
        import json, sys, time
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service

        chromium, chromedriver, shots, name, output = sys.argv[1:6]
        urls = sys.argv[6:]
        options = Options()
        options.binary_location = chromium
        for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,1000", "--no-first-run", "--disable-extensions"]:
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(service=Service(chromedriver), options=options)
        reports = []
        try:
            for index, url in enumerate(urls):
                driver.get(url)
                deadline = time.time() + 10
                while driver.execute_script("return document.readyState") != "complete" and time.time() < deadline:
                    time.sleep(0.05)  # polling the page's state, bounded by the deadline
                # "complete" comes after the load event, which waits for every image, so an injected
                # <img onerror> has run by now; the pages set no timers.
                shot = f"{shots}/{name}-{index}.png"
                driver.save_screenshot(shot)
                errors = [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
                reports.append({
                    "url": url,
                    "title": driver.title,
                    "text": driver.execute_script("return document.body ? document.body.innerText : ''"),
                    "consoleErrors": errors,
                    "injected": bool(driver.execute_script("return window.__stepflowInjected === true")),
                    "htmlBytes": len(driver.page_source.encode()),
                    "screenshot": shot,
                })
        finally:
            driver.quit()
        with open(output, "w") as f:
            json.dump(reports, f)
        """#

    /// Loads `urls` one after the other in one browser and reports each; screenshots are `<name>-<n>.png`.
    static func visit(_ urls: [String], name: String, in directory: TemporaryDirectory) async throws -> [PageReport] {
        guard let python, let chromium, let chromedriver else { throw CompileError(description: missing) }
        try FileManager.default.createDirectory(atPath: screenshotDirectory, withIntermediateDirectories: true)
        let script = try directory.write("browser.py", Self.script)
        let output = directory.file("browser.json")
        let run = try await runProcess(python, [script, chromium, chromedriver, screenshotDirectory, name, output] + urls)
        guard run.status == 0, let data = FileManager.default.contents(atPath: output) else {
            throw CompileError(description: "the browser session failed (\(run.status)): \(run.output.suffix(2000))")
        }
        return try JSONDecoder().decode([PageReport].self, from: data)
    }
}

import Foundation
import StepflowTestSupport

/// A real browser for the dashboard tests: Debian's headless Chromium driven through `chromedriver` by Selenium
/// (from PyPI, in the virtual environment `.ci/run` makes). A test gives a list of steps (open a page, type into a
/// field, click, resize the window, evaluate an expression); each is reported as a user's browser saw it: the
/// console's errors since the step before, whether any injected script ran (a hostile value that sets
/// `window.__stepflowInjected`), the visible text, the value of an expression, and a PNG screenshot when asked.
enum BrowserSession {
    /// One thing the browser does.
    struct Step: Encodable, Sendable {
        var action: String
        var url: String? = nil
        var selector: String? = nil
        var text: String? = nil
        var script: String? = nil
        var width: Int? = nil
        var height: Int? = nil
        /// Save a screenshot named `<session>-<shot>.png` after the step.
        var shot: String? = nil

        /// Opens `url` and waits for it to load.
        static func visit(_ url: String, shot: String? = nil) -> Step { Step(action: "visit", url: url, shot: shot) }
        /// Clicks the element `selector` finds and waits for the page it leads to.
        static func click(_ selector: String, shot: String? = nil) -> Step { Step(action: "click", selector: selector, shot: shot) }
        /// Types `text` into the element `selector` finds, then Enter (submitting its form, as a keyboard user does),
        /// and waits for the page it leads to.
        static func typeAndEnter(_ selector: String, _ text: String, shot: String? = nil) -> Step {
            Step(action: "type", selector: selector, text: text, shot: shot)
        }
        /// Evaluates `script` (a function body that `return`s a JSON value) on the current page.
        static func evaluate(_ script: String) -> Step { Step(action: "eval", script: script) }
        /// Resizes the window.
        static func window(width: Int, height: Int) -> Step { Step(action: "window", width: width, height: height) }
    }

    /// What the browser saw after one step.
    struct Report: Decodable, Sendable {
        let url: String
        let title: String
        let text: String
        let consoleErrors: [String]
        let injected: Bool
        let htmlBytes: Int
        let screenshot: String?
        /// What an `eval` step's script returned, as JSON text.
        let value: String?

        /// The value of an `eval` step decoded as `T`.
        func decoded<T: Decodable>(_ type: T.Type) throws -> T {
            try JSONDecoder().decode(T.self, from: Data((value ?? "null").utf8))
        }
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

    /// Where screenshots are kept: `STEPFLOW_SCREENSHOTS` when set (kept after the run), else the test process's
    /// scratch directory (removed when it exits). The tests print each screenshot's path.
    static var screenshotDirectory: String {
        ProcessInfo.processInfo.environment["STEPFLOW_SCREENSHOTS"].flatMap { $0.isEmpty ? nil : $0 }
            ?? Scratch.rootURL.appendingPathComponent("screenshots").path
    }

    static let script = #"""
        import json, sys, time
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys

        chromium, chromedriver, shots, name, plan, output = sys.argv[1:7]
        with open(plan) as f:
            steps = json.load(f)
        options = Options()
        options.binary_location = chromium
        for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,1000", "--no-first-run", "--disable-extensions"]:
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(service=Service(chromedriver), options=options)

        def settle(navigating):
            # Polls (bounded by a deadline) until the page the step led to has replaced the marked one and has
            # loaded: "complete" comes after the load event, which waits for every image, so an injected
            # <img onerror> has run by then. The pages set no timers.
            deadline = time.time() + 15
            while time.time() < deadline:
                state = driver.execute_script(
                    "return [document.readyState, window.__stepflowMarked === true]")
                if state[0] == "complete" and not (navigating and state[1]):
                    return
                time.sleep(0.05)
            raise RuntimeError("the page did not load within 15 s: " + driver.current_url)

        reports = []
        try:
            for index, step in enumerate(steps):
                action = step["action"]
                value = None
                if action == "visit":
                    driver.get(step["url"])
                    settle(False)
                elif action in ("click", "type"):
                    element = driver.find_element(By.CSS_SELECTOR, step["selector"])
                    driver.execute_script("window.__stepflowMarked = true")
                    if action == "click":
                        element.click()
                    else:
                        element.send_keys(step["text"] + Keys.ENTER)
                    settle(True)
                elif action == "eval":
                    value = json.dumps(driver.execute_script(step["script"]))
                elif action == "window":
                    driver.set_window_size(step["width"], step["height"])
                shot = None
                if step.get("shot"):
                    shot = f"{shots}/{name}-{step['shot']}.png"
                    driver.save_screenshot(shot)
                errors = [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
                reports.append({
                    "url": driver.current_url,
                    "title": driver.title,
                    "text": driver.execute_script("return document.body ? document.body.innerText : ''"),
                    "consoleErrors": errors,
                    "injected": bool(driver.execute_script("return window.__stepflowInjected === true")),
                    "htmlBytes": len(driver.page_source.encode()),
                    "screenshot": shot,
                    "value": value,
                })
        finally:
            driver.quit()
        with open(output, "w") as f:
            json.dump(reports, f)
        """#

    /// Runs `steps` in one browser and reports each; screenshots are `<name>-<shot>.png`.
    static func run(_ steps: [Step], name: String, in directory: TemporaryDirectory) async throws -> [Report] {
        guard let python, let chromium, let chromedriver else { throw CompileError(description: missing) }
        try FileManager.default.createDirectory(atPath: screenshotDirectory, withIntermediateDirectories: true)
        let script = try directory.write("browser.py", Self.script)
        let plan = try directory.write("browser-plan.json", String(decoding: try JSONEncoder().encode(steps), as: UTF8.self))
        let output = directory.file("browser.json")
        let run = try await runProcess(python, [script, chromium, chromedriver, screenshotDirectory, name, plan, output])
        guard run.status == 0, let data = FileManager.default.contents(atPath: output) else {
            throw CompileError(description: "the browser session failed (\(run.status)): \(run.output.suffix(3000))")
        }
        return try JSONDecoder().decode([Report].self, from: data)
    }
}

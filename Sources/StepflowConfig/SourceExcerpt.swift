/// Cuts the line a problem is on out of the source, with a caret under its column, so that a message never
/// quotes more than one line of the user's file (a Yams error on a deep document quotes all of it).
struct SourceExcerpt {
    /// The longest part of a source line shown, in characters.
    static let maximumWidth = 120

    private let lines: [Substring]

    init(source: String) {
        lines = source.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" }
    }

    /// Line `line` (1-based) and a caret under `column` (1-based), or `nil` when the line does not exist.
    func excerpt(line: Int, column: Int?) -> String? {
        guard line >= 1, line <= lines.count else { return nil }
        var scalars = lines[line - 1].unicodeScalars.map { $0 == "\t" || $0 == "\r" ? " " : $0 }
        var caretColumn = max(1, column ?? 1)
        var prefix = "", suffix = ""
        // Keep the caret on screen: start the window so the column sits inside it.
        if scalars.count > Self.maximumWidth {
            let start = max(0, min(caretColumn - Self.maximumWidth / 2, scalars.count - Self.maximumWidth))
            if start > 0 { prefix = "…" }
            if start + Self.maximumWidth < scalars.count { suffix = "…" }
            scalars = Array(scalars[start..<(start + Self.maximumWidth)])
            caretColumn = caretColumn - start + prefix.unicodeScalars.count
        }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        let text = prefix + String(view) + suffix
        guard column != nil else { return text }
        return text + "\n" + String(repeating: " ", count: caretColumn - 1) + "^"
    }
}

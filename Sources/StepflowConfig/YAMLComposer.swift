import Yams

/// Turns YAML text into a Yams node tree (with line and column marks), or a syntax issue that quotes one line.
///
/// `Yams.compose` does not expand aliases: an alias shares the anchored node, so composing an alias bomb is
/// cheap. Walking the tree is what would explode, and ``NodeDecoder`` bounds that walk. Yams does hash mapping
/// keys while composing (to find duplicates), so an alias used as a key would be expanded right here; such
/// documents are refused before Yams sees them by ``refuseAliasKeys(in:)``.
enum YAMLComposer {
    /// The root node of the first document (nil for an empty document), or the issues that stop parsing.
    static func compose(_ yaml: String, file: String) -> Result<Node?, ConfigurationError> {
        if let issue = refuseAliasKeys(in: yaml, file: file) {
            return .failure(ConfigurationError(issues: [issue]))
        }
        do {
            return .success(try Yams.compose(yaml: yaml))
        } catch let error as YamlError {
            return .failure(ConfigurationError(issues: [issue(for: error, yaml: yaml, file: file)]))
        } catch {
            let issue = ConfigurationIssue(
                file: file, keyPath: "", message: "cannot parse the YAML: \(error); check that the file is YAML text")
            return .failure(ConfigurationError(issues: [issue]))
        }
    }

    /// An issue for a Yams error, naming the position and quoting only the offending line.
    static func issue(for error: YamlError, yaml: String, file: String) -> ConfigurationIssue {
        let excerpts = SourceExcerpt(source: yaml)
        func located(_ problem: String, _ mark: Mark, _ context: YamlError.Context?) -> ConfigurationIssue {
            var message = "syntax error: \(problem)"
            if let context {
                message += " (\(context.text) that starts at line \(context.mark.line), column \(context.mark.column))"
            }
            message += "; fix the YAML at this position"
            return ConfigurationIssue(
                file: file, line: mark.line, column: mark.column, keyPath: "", message: message,
                excerpt: excerpts.excerpt(line: mark.line, column: mark.column))
        }
        switch error {
        case .scanner(let context, let problem, let mark, _),
             .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            return located(problem, mark, context)
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            return ConfigurationIssue(
                file: file, line: context.mark.line, column: context.mark.column, keyPath: "",
                message: "duplicate key \(keys) in one mapping; keep only one of them",
                excerpt: excerpts.excerpt(line: context.mark.line, column: context.mark.column))
        case .reader(let problem, let offset, _, _):
            let position = offset.map { " at character \($0)" } ?? ""
            return ConfigurationIssue(
                file: file, keyPath: "",
                message: "cannot read the text\(position): \(problem); save the file as UTF-8")
        default:
            return ConfigurationIssue(file: file, keyPath: "", message: "cannot parse the YAML: \(error)")
        }
    }

    /// Refuses a document that uses an alias (`*name`) as a mapping key (`*name: value`), or that uses aliases
    /// together with complex keys (`? key` or a `[...]:` / `{...}:` key): the only places where Yams expands an
    /// alias while composing. This is a conservative scan of the text: quoted text and comments are skipped, and a
    /// false alarm only asks the user to write such a key out.
    static func refuseAliasKeys(in yaml: String, file: String) -> ConfigurationIssue? {
        guard yaml.utf8.contains(UInt8(ascii: "*")) else { return nil }
        let text = Array(yaml.unicodeScalars)
        let anchorCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-".unicodeScalars)
        let tokenStarts = Set(" \t\n\r[{,".unicodeScalars)
        var firstAlias: (line: Int, column: Int)?
        var firstComplexKey: (line: Int, column: Int)?
        var line = 1
        var lineStart = 0
        var index = 0

        func nextNonBlank(after position: Int) -> Unicode.Scalar? {
            var position = position
            while position < text.count, text[position] == " " || text[position] == "\t" { position += 1 }
            return position < text.count ? text[position] : nil
        }

        while index < text.count {
            let scalar = text[index]
            let previous: Unicode.Scalar = index == 0 ? "\n" : text[index - 1]
            let startsToken = tokenStarts.contains(previous)
            let here = (line: line, column: index - lineStart + 1)
            switch scalar {
            case "\n":
                line += 1
                lineStart = index + 1
            case "#" where startsToken:
                while index + 1 < text.count, text[index + 1] != "\n" { index += 1 }
            case "'" where startsToken, "\"" where startsToken:
                // Skip the quoted text; '' inside single quotes and \" inside double quotes do not close it.
                index += 1
                while index < text.count {
                    let inner = text[index]
                    if inner == "\n" {
                        line += 1
                        lineStart = index + 1
                    } else if scalar == "\"", inner == "\\" {
                        index += 1
                    } else if inner == scalar {
                        if scalar == "'", index + 1 < text.count, text[index + 1] == "'" {
                            index += 1
                        } else {
                            break
                        }
                    }
                    index += 1
                }
            case "*" where startsToken:
                var end = index + 1
                while end < text.count, anchorCharacters.contains(text[end]) { end += 1 }
                if end > index + 1 {
                    if nextNonBlank(after: end) == ":" {
                        return aliasKeyIssue(at: here, yaml, file)
                    }
                    if firstAlias == nil { firstAlias = here }
                    index = end - 1
                }
            case "?" where startsToken:
                let next: Unicode.Scalar = index + 1 < text.count ? text[index + 1] : "\n"
                if next == " " || next == "\t" || next == "\n" || next == "\r", firstComplexKey == nil {
                    firstComplexKey = here
                }
            case "]", "}":
                if nextNonBlank(after: index + 1) == ":", firstComplexKey == nil { firstComplexKey = here }
            default:
                break
            }
            index += 1
        }
        if let key = firstComplexKey, firstAlias != nil {
            return aliasKeyIssue(at: key, yaml, file)
        }
        return nil
    }

    private static func aliasKeyIssue(
        at position: (line: Int, column: Int), _ yaml: String, _ file: String
    ) -> ConfigurationIssue {
        ConfigurationIssue(
            file: file, line: position.line, column: position.column, keyPath: "",
            message: "aliases (*name) cannot be used in mapping keys, and complex keys (? key) cannot be used with "
                + "aliases; write the key out as plain text",
            excerpt: SourceExcerpt(source: yaml).excerpt(line: position.line, column: position.column))
    }
}

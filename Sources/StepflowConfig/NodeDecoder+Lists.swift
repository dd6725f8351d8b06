import Yams

/// The lists of named items (`plugins:`, `alerts.rules:`, `security.tokens:`): one loop for all of them.
extension NodeDecoder {
    /// Decodes a YAML sequence item by item with `decodeItem` (which reports its own problems and returns `nil`
    /// for an item it refuses), refusing an item whose name an earlier item already has.
    ///
    /// - Parameters:
    ///   - what: the items, for messages: "plugins", "alert rules", "tokens".
    ///   - kind: one item, for the duplicate message: "plugin", "rule", "token".
    ///   - name: the item's name, `nil` when it has none (no duplicate check then).
    mutating func decodeNamedList<Item>(
        _ node: Node, keyPath: String, what: String, kind: String, name: (Item) -> String?,
        item decodeItem: (inout NodeDecoder, Node, String) -> (Item, Node?)?
    ) -> [Item] {
        if node.isScalarNode, node.tagName == .null { return [] }
        guard case .sequence(let sequence) = node else {
            report(node, keyPath: keyPath, "expected a list of \(what) (each item starting with '- '), found \(Self.describe(node))")
            return []
        }
        var items: [Item] = []
        var names: [String: String] = [:]
        for (index, element) in sequence.enumerated() {
            guard enter(element) else { return items }
            let itemPath = "\(keyPath)[\(index)]"
            guard let (item, nameNode) = decodeItem(&self, element, itemPath) else { continue }
            if let itemName = name(item), let nameNode {
                if let first = names[itemName] {
                    report(nameNode, keyPath: itemPath + ".name",
                           "the name '\(itemName)' is already used by \(first); give each \(kind) its own name")
                    continue
                }
                names[itemName] = itemPath
            }
            items.append(item)
        }
        return items
    }
}

import AsyncHTTPClient
import Foundation
import StepflowCore

/// Sends documents to one index with the Elasticsearch (or OpenSearch) `_bulk` API: NDJSON `create` actions, in
/// requests of at most `maxDocuments` documents and `maxBytes` bytes, gzip-compressed when asked, with basic or
/// API-key authentication; reads each item's result (docs/exporters.md, "Elasticsearch").
public struct ElasticsearchBulkSink<Item: Sendable>: ExportSink {
    public let name = "elasticsearch"
    public var destination: String { "\(bulkURL) (index \(settings.index))" }
    public let settings: ElasticsearchBulkSettings
    private let client: HTTPClient
    private let document: @Sendable (Item) -> ElasticsearchDocument
    private let bulkURL: String

    /// The most bytes of an answer read (an answer's item results are ~200 bytes each).
    static var maxAnswerBytes: Int { 32 << 20 }

    public init(settings: ElasticsearchBulkSettings, client: HTTPClient, document: @escaping @Sendable (Item) -> ElasticsearchDocument) {
        self.settings = settings
        self.client = client
        self.document = document
        var base = settings.url
        while base.hasSuffix("/") { base.removeLast() }
        bulkURL = base + "/_bulk"
    }

    public func send(_ items: [Item]) async throws(MonitoringError) -> ExportResponse {
        var outcomes: [ExportItemOutcome] = []
        outcomes.reserveCapacity(items.count)
        var retryAfter: Duration?
        func add(_ response: ExportResponse) {
            outcomes += response.outcomes
            if let wait = response.retryAfter { retryAfter = max(retryAfter ?? .zero, wait) }
        }
        var body: [UInt8] = []
        var count = 0
        let action = Array(#"{"create":{"_index":"#.utf8) + Array(JSONValue.quote(settings.index).utf8) + Array(#","_id":"#.utf8)
        for item in items {
            let document = document(item)
            var line = action
            JSONValue.writeQuoted(document.id, to: &line)
            line.append(contentsOf: "}}\n".utf8)
            document.source.write(to: &line)
            line.append(UInt8(ascii: "\n"))
            if count > 0, count >= settings.maxDocuments || body.count + line.count > settings.maxBytes {
                add(try await post(body, documents: count))
                body.removeAll(keepingCapacity: true)
                count = 0
            }
            body += line
            count += 1
        }
        if count > 0 { add(try await post(body, documents: count)) }
        return ExportResponse(outcomes, retryAfter: retryAfter)
    }

    /// One `_bulk` request; the outcome of each of its `documents`. A whole request answered 429, 502, 503 or 504
    /// is every document refused for now, with the answer's `Retry-After`.
    private func post(_ ndjson: [UInt8], documents: Int) async throws(MonitoringError) -> ExportResponse {
        var headers = [("Content-Type", "application/x-ndjson")]
        if !settings.apiKey.isEmpty {
            headers.append(("Authorization", "ApiKey \(settings.apiKey)"))
        } else if !settings.username.isEmpty {
            let credentials = Data("\(settings.username):\(settings.password)".utf8).base64EncodedString()
            headers.append(("Authorization", "Basic \(credentials)"))
        }
        let post = ExportPost(
            url: bulkURL, client: client, timeout: settings.timeout, gzip: settings.gzip,
            unreachableHint: "check that Elasticsearch runs at exporters.elasticsearch.url and is reachable")
        let answer = try await post.send(ndjson, headers: headers, maxAnswer: Self.maxAnswerBytes)
        let status = answer.status
        let text = { String(decoding: answer.body.prefix(300), as: UTF8.self) }
        switch status {
        case 200..<300:
            break
        case 429, 502, 503, 504:
            return ExportResponse(
                Array(repeating: .retry("\(status) \(text())"), count: documents),
                retryAfter: ExportResponse.retryAfter(header: answer.headers.first(name: "Retry-After")))
        case 401, 403:
            throw MonitoringError(
                .networkError, "\(bulkURL) answered \(status): \(text())",
                hint: "check exporters.elasticsearch.username and password, or api_key, and the user's index privileges")
        case 404:
            throw MonitoringError(.networkError, "\(bulkURL) answered 404: \(text())", hint: "check exporters.elasticsearch.url")
        case 413:
            throw MonitoringError(
                .networkError, "\(bulkURL) answered 413: the request was too large",
                hint: "lower exporters.elasticsearch.max_batch_bytes below the server's http.max_content_length")
        default:
            throw MonitoringError(.networkError, "\(bulkURL) answered \(status): \(text())")
        }
        return ExportResponse(try ElasticsearchBulkAnswer.outcomes(of: answer.body, documents: documents, url: bulkURL))
    }
}

/// Where and how an ``ElasticsearchBulkSink`` sends (`exporters.elasticsearch`).
public struct ElasticsearchBulkSettings: Sendable {
    public var url: String
    public var index: String
    public var username = ""
    public var password = ""
    public var apiKey = ""
    public var gzip = true
    public var maxDocuments = 1_000
    public var maxBytes = 5 << 20
    public var timeout: Duration = .seconds(30)

    public init(url: String, index: String) {
        self.url = url
        self.index = index
    }
}

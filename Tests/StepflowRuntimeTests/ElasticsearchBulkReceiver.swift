import CompressNIO
import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// An Elasticsearch `_bulk` endpoint on 127.0.0.1, for the exporter's tests (no Elasticsearch or OpenSearch can be
/// installed here). It does what Elastic documents for the bulk API
/// (https://www.elastic.co/guide/en/elasticsearch/reference/current/docs-bulk.html):
///
/// - the body is NDJSON, an action line then a source line, each ending in a newline; `Content-Encoding: gzip` is
///   read; a malformed action, a missing newline at the end or a source that is not a JSON object fails the
///   whole request with 400;
/// - `create` of an id that exists is a per-item 409 `version_conflict_engine_exception`;
/// - fields are mapped dynamically as they first appear (number, boolean, text, object); a document whose field
///   conflicts with its mapping is a per-item 400 `document_parsing_exception`, and the other items are taken;
/// - the answer has `took`, `errors` (true when any item failed) and one result per action, in order, with
///   `_index`, `_id`, `status` and, for a failure, `error` with `type` and `reason`.
///
/// Tests inject faults: whole-request answers (429, 503) for the next requests, and per-item statuses.
final class ElasticsearchBulkReceiver: Sendable {
    enum FieldKind: String { case number, boolean, text, object }

    struct State {
        var documents: [String: [String: Data]] = [:]  // index → id → source
        var mappings: [String: [String: FieldKind]] = [:]  // index → dotted field → kind
        var requests = 0
        var gzipped = 0
        var authorizations: [String] = []
        var wholeRequestFaults: [Int] = []
        var itemFault: (@Sendable (_ index: String, _ id: String, _ attempt: Int) -> Int?)?
        var attempts: [String: Int] = [:]
        var creates = 0
        var largestBody = 0
    }

    private let state = Mutex(State())
    private let port = Mutex<Int?>(nil)
    private let delay = Mutex<Duration>(.zero)
    let fixedPort: Int

    /// - Parameter port: the port to listen on; 0 picks a free one.
    init(port: Int = 0) {
        fixedPort = port
    }

    func waitForPort() async -> Int {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let port = port.withLock({ $0 }) { return port }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return -1
    }

    /// From now on, answer each request after `duration` (a slow cluster).
    func answer(after duration: Duration) { delay.withLock { $0 = duration } }

    /// The next `count` requests are answered `status` as a whole.
    func failNextRequests(_ count: Int, status: Int) {
        state.withLock { $0.wholeRequestFaults += Array(repeating: status, count: count) }
    }

    /// A status for some items (given the index, id and how many times that id was sent), `nil` for normal.
    func failItems(_ fault: (@Sendable (_ index: String, _ id: String, _ attempt: Int) -> Int?)?) {
        state.withLock { $0.itemFault = fault }
    }

    func documents(in index: String) -> [String: [String: Any]] {
        let stored = state.withLock { state in state.documents[index] ?? [:] }
        return stored.compactMapValues { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
    }

    var requests: Int { state.withLock { $0.requests } }
    var gzipped: Int { state.withLock { $0.gzipped } }
    var creates: Int { state.withLock { $0.creates } }
    /// The longest request body so far, in bytes (after gzip is undone).
    var largestBody: Int { state.withLock { $0.largestBody } }
    var authorizations: [String] { state.withLock { $0.authorizations } }

    func application(logger: Logger) -> some ApplicationProtocol {
        let router = Router()
        router.post("/_bulk") { request, _ -> Response in
            let encoding = request.headers[.contentEncoding]
            let authorization = request.headers[.authorization]
            var body = try await request.body.collect(upTo: 64 << 20)
            let wait = self.delay.withLock { $0 }
            if wait > .zero { try? await Task.sleep(for: wait) }
            if encoding == "gzip" {
                body = try body.decompress(with: .gzip(), maxSize: 256 << 20)
            }
            return self.bulk(Array(buffer: body), gzipped: encoding == "gzip", authorization: authorization)
        }
        return Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: fixedPort)),
            onServerRunning: { channel in self.port.withLock { $0 = channel.localAddress?.port } },
            logger: logger)
    }

    private func json(_ status: HTTPResponse.Status, _ object: Any) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object)) ?? Data("{}".utf8)
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: Array(data))))
    }

    private func failure(_ status: HTTPResponse.Status, _ type: String, _ reason: String) -> Response {
        json(status, ["error": ["type": type, "reason": reason], "status": Int(status.code)])
    }

    func bulk(_ body: [UInt8], gzipped: Bool, authorization: String?) -> Response {
        let fault: Int? = state.withLock { state in
            state.requests += 1
            state.largestBody = max(state.largestBody, body.count)
            if gzipped { state.gzipped += 1 }
            if let authorization { state.authorizations.append(authorization) }
            return state.wholeRequestFaults.isEmpty ? nil : state.wholeRequestFaults.removeFirst()
        }
        if let fault {
            return failure(
                HTTPResponse.Status(code: fault), fault == 429 ? "es_rejected_execution_exception" : "unavailable",
                "injected")
        }
        guard body.last == UInt8(ascii: "\n") else {
            return failure(.badRequest, "illegal_argument_exception", "The bulk request must be terminated by a newline [\\n]")
        }
        let lines = body.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropLast()
        guard lines.count % 2 == 0 else {
            return failure(.badRequest, "action_request_validation_exception", "an action without a source")
        }
        var pairs: [(action: String, index: String, id: String, source: Data)] = []
        var index = lines.startIndex
        while index < lines.endIndex {
            guard let action = try? JSONSerialization.jsonObject(with: Data(lines[index])) as? [String: Any],
                action.count == 1, let (name, meta) = action.first, let meta = meta as? [String: Any],
                let target = meta["_index"] as? String
            else {
                return failure(.badRequest, "x_content_parse_exception", "malformed action line")
            }
            let source = Data(lines[index + 1])
            guard (try? JSONSerialization.jsonObject(with: source)) is [String: Any] else {
                return failure(.badRequest, "x_content_parse_exception", "a source that is not a JSON object")
            }
            pairs.append((name, target, meta["_id"] as? String ?? UUID().uuidString, source))
            index += 2
        }
        struct Result: Sendable {
            var action: String, index: String, id: String, status: Int, error: (type: String, reason: String)?
        }
        let results: [Result] = state.withLock { state in
            pairs.map { pair in
                state.attempts[pair.id, default: 0] += 1
                var result = Result(action: pair.action, index: pair.index, id: pair.id, status: 201, error: nil)
                func fail(_ status: Int, _ type: String, _ reason: String) {
                    result.status = status
                    result.error = (type, reason)
                }
                let object = (try? JSONSerialization.jsonObject(with: pair.source) as? [String: Any]) ?? [:]
                if pair.action != "create" && pair.action != "index" {
                    fail(400, "illegal_argument_exception", "unsupported action [\(pair.action)]")
                } else if let status = state.itemFault?(pair.index, pair.id, state.attempts[pair.id]!) {
                    fail(status, status == 429 ? "es_rejected_execution_exception" : "injected", "injected for the test")
                } else if pair.action == "create", state.documents[pair.index]?[pair.id] != nil {
                    fail(409, "version_conflict_engine_exception", "[\(pair.id)]: version conflict, document already exists")
                } else if let conflict = Self.map(object, into: &state.mappings[pair.index, default: [:]]) {
                    fail(400, "document_parsing_exception", conflict)
                } else {
                    state.documents[pair.index, default: [:]][pair.id] = pair.source
                    state.creates += 1
                }
                return result
            }
        }
        let errors = results.contains { $0.error != nil }
        let items: [[String: Any]] = results.map { result in
            var object: [String: Any] = ["_index": result.index, "_id": result.id, "status": result.status]
            if let error = result.error {
                object["error"] = ["type": error.type, "reason": error.reason]
            } else {
                object["result"] = "created"
            }
            return [result.action: object]
        }
        return json(.ok, ["took": 1, "errors": errors, "items": items])
    }

    /// Maps a document's fields as dynamic mapping does; the reason when one conflicts (nothing is mapped then).
    static func map(_ source: [String: Any], into mapping: inout [String: FieldKind]) -> String? {
        var found: [(String, FieldKind)] = []
        func walk(_ object: [String: Any], prefix: String) {
            for (key, value) in object {
                let path = prefix.isEmpty ? key : prefix + "." + key
                switch value {
                case let nested as [String: Any]:
                    found.append((path, .object))
                    walk(nested, prefix: path)
                case _ where type(of: value) == Bool.self:
                    found.append((path, .boolean))
                case is Int, is Double, is NSNumber:
                    found.append((path, .number))
                case is String:
                    found.append((path, .text))
                default:
                    break  // arrays and null: not mapped by this stand-in
                }
            }
        }
        walk(source, prefix: "")
        var added: [String: FieldKind] = [:]
        for (path, kind) in found {
            guard let existing = mapping[path] ?? added[path] else {
                added[path] = kind
                continue
            }
            // Text takes numbers and booleans (as their text); anything else must match.
            if existing == kind || (existing == .text && kind != .object) { continue }
            return "failed to parse field [\(path)] of type [\(existing.rawValue)]: it is \(kind.rawValue)"
        }
        mapping.merge(added) { old, _ in old }
        return nil
    }
}

import Foundation
import StepflowCore

/// Reads a `_bulk` answer: one result per document, in order, each with its `status` and, when it failed, an
/// `error` with `type` and `reason` (docs/exporters.md, "Elasticsearch").
public enum ElasticsearchBulkAnswer {
    private struct Answer: Decodable {
        struct Result: Decodable {
            struct Failure: Decodable {
                var type: String?
                var reason: String?
            }
            var status: Int
            var error: Failure?
        }
        var errors: Bool
        var items: [[String: Result]]
    }

    /// The per-item outcomes of a `_bulk` answer.
    public static func outcomes(of body: [UInt8], documents: Int, url: String) throws(MonitoringError) -> [ExportItemOutcome] {
        let answer: Answer
        do {
            answer = try JSONDecoder().decode(Answer.self, from: Data(body))
        } catch {
            throw MonitoringError(
                .exportFailed, "\(url) answered with a body that is not a bulk response: \(error)",
                hint: "check that exporters.elasticsearch.url is an Elasticsearch or OpenSearch server")
        }
        guard answer.items.count == documents else {
            throw MonitoringError(
                .exportFailed, "\(url) answered \(answer.items.count) item results for \(documents) documents")
        }
        return answer.items.map { item in
            guard let result = item.values.first else { return .retry("an item result without an action") }
            let reason = [result.error?.type, result.error?.reason].compactMap { $0 }.joined(separator: ": ")
            switch result.status {
            case 200..<300, 409:
                // 409: a document of this id exists, sent by an earlier attempt whose answer was lost.
                return .sent
            case 401, 403, 404, 429, 500...:
                // Overloaded, or not set up yet (no index and auto-creation off, missing privileges): not the
                // document's fault.
                return .retry("\(result.status) \(reason)")
            default:
                return .refused("\(result.status) \(reason)")
            }
        }
    }
}

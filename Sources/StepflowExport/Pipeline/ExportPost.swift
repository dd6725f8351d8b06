import AsyncHTTPClient
import CompressNIO
import NIOCore
import NIOHTTP1
import StepflowCore

/// One POST of an exporter's request body: headers, optional gzip, a deadline, and the answer read up to a bound.
/// Shared by the Elasticsearch and OTLP sinks, which differ only in what they make of the answer.
struct ExportPost: Sendable {
    /// What came back.
    struct Answer {
        var status: Int
        var headers: HTTPHeaders
        var body: [UInt8]
    }

    let url: String
    let client: HTTPClient
    let timeout: Duration
    let gzip: Bool
    /// What to check when the receiver cannot be reached, for the error's hint.
    let unreachableHint: String

    /// Sends `body` with `headers` (and `Content-Encoding: gzip` when compressing); reads at most `maxAnswer`
    /// bytes of the answer.
    ///
    /// - Throws: `exportFailed` when the body cannot be compressed, `networkError` when nothing came back.
    func send(_ body: [UInt8], headers: [(String, String)], maxAnswer: Int) async throws(MonitoringError) -> Answer {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "User-Agent", value: "stepflow-monitor")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        var buffer = ByteBuffer(bytes: body)
        if gzip {
            do {
                buffer = try buffer.compress(with: .gzip())
                request.headers.add(name: "Content-Encoding", value: "gzip")
            } catch {
                throw MonitoringError(.exportFailed, "cannot gzip a request to \(url): \(error)")
            }
        }
        request.body = .bytes(buffer)
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .milliseconds(max(timeout.clampedMilliseconds, 1)))
        } catch {
            throw MonitoringError(.networkError, "cannot POST to \(url): \(error)", hint: unreachableHint)
        }
        do {
            let answer = try await response.body.collect(upTo: maxAnswer)
            return Answer(status: Int(response.status.code), headers: response.headers, body: Array(buffer: answer))
        } catch {
            throw MonitoringError(
                .networkError, "\(url) answered \(response.status.code) but its body could not be read: \(error)")
        }
    }
}

import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import StepflowCore

/// POSTs JSON bodies with AsyncHTTPClient. An answer outside 2xx, a refused connection or a timeout is a
/// `networkError` naming the URL and, for an answer, its status and the start of its body.
struct JSONPoster: Sendable {
    let client: HTTPClient

    init(client: HTTPClient = .shared) {
        self.client = client
    }

    func post(_ body: JSONValue, to url: String, timeout: Duration) async throws(MonitoringError) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "stepflow-monitor")
        var bytes: [UInt8] = []
        body.write(to: &bytes)
        request.body = .bytes(ByteBuffer(bytes: bytes))
        let milliseconds = max(timeout.clampedMilliseconds, 1)
        do {
            let response = try await client.execute(request, timeout: .milliseconds(milliseconds))
            guard (200..<300).contains(response.status.code) else {
                let answer = (try? await response.body.collect(upTo: 4096)).map { String(buffer: $0) } ?? ""
                throw MonitoringError(
                    .networkError, "\(url) answered \(response.status.code) \(response.status.reasonPhrase): \(answer.prefix(300))")
            }
            _ = try? await response.body.collect(upTo: 1 << 20)
        } catch let error as MonitoringError {
            throw error
        } catch {
            throw MonitoringError(
                .networkError, "cannot POST to \(url): \(error)", hint: "check that the receiver is running and the URL is right")
        }
    }
}

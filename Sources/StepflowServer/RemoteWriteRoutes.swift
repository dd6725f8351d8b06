import Hummingbird
import StepflowIngest

/// `POST /api/v1/write`: Prometheus remote write 1.0 (docs/ingest.md, "Prometheus remote write"). The route only
/// moves bytes; ``RemoteWriteReceiver`` decides the answer.
enum RemoteWriteRoutes {
    static func register(on router: SecuredRouter, receiver: RemoteWriteReceiver, maxBodyBytes: Int) {
        router.post(RemoteWriteReceiver.path, needs: .role(.write), ingest: true) { request, _ -> Response in
            let body: ByteBuffer
            do {
                body = try await request.body.collect(upTo: maxBodyBytes)
            } catch {
                return answer(RemoteWriteReceiver.Answer(
                    status: 413, message: "the body is larger than http.max_body_size (\(maxBodyBytes) bytes); send smaller requests"))
            }
            return answer(await receiver.receive(
                Array(buffer: body), contentType: request.headers[.contentType],
                contentEncoding: request.headers[.contentEncoding]))
        }
    }

    static func answer(_ answer: RemoteWriteReceiver.Answer) -> Response {
        guard answer.status != 204 else { return Response(status: .noContent) }
        var headers: HTTPFields = [.contentType: "text/plain; charset=utf-8"]
        if let retryAfter = answer.retryAfter { headers[.retryAfter] = String(retryAfter) }
        return Response(
            status: HTTPResponse.Status(code: answer.status), headers: headers,
            body: .init(byteBuffer: ByteBuffer(string: answer.message + "\n")))
    }
}

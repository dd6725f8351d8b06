import Hummingbird
import StepflowIngest

/// `POST /v1/traces`, `/v1/logs`, `/v1/metrics`: OTLP/HTTP (docs/ingest.md, "OpenTelemetry (OTLP/HTTP)"). The
/// routes only move bytes; ``OTLPReceiver`` decides the answer.
enum OTLPRoutes {
    static func register(on router: SecuredRouter, receiver: OTLPReceiver, maxBodyBytes: Int) {
        for signal in OTLPReceiver.Signal.allCases {
            router.post(signal.path, needs: .role(.write), ingest: true) { request, _ -> Response in
                let body: ByteBuffer
                do {
                    body = try await request.body.collect(upTo: maxBodyBytes)
                } catch {
                    return Response(
                        status: .contentTooLarge, headers: [.contentType: "text/plain; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(string: "the body is larger than http.max_body_size (\(maxBodyBytes) bytes)\n")))
                }
                let answer = await receiver.receive(
                    signal, body: Array(buffer: body), contentType: request.headers[.contentType],
                    contentEncoding: request.headers[.contentEncoding])
                var headers: HTTPFields = [.contentType: answer.contentType]
                if let retryAfter = answer.retryAfter { headers[.retryAfter] = String(retryAfter) }
                return Response(
                    status: HTTPResponse.Status(code: answer.status), headers: headers,
                    body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
            }
        }
    }
}

#!/usr/bin/env python3
"""Export throughput and catch-up after an outage (issue 17, point 7; README "Export").

For each exporter (Elasticsearch bulk with log entries, OTLP/HTTP with spans) it:
  1. starts a release stepflow-monitor whose exporter points at a receiver that is not running yet (the outage),
     and waits for the exporter's first run (it starts at the newest stored row);
  2. stores the backlog of a 10-minute outage (--rate items per second x 600 s) through the HTTP API;
  3. starts the receiver on 127.0.0.1 and measures the time until every item has arrived (the catch-up), the
     items per second, and the host's CPU per 1,000 items (utime + stime from /proc while it catches up).

The Elasticsearch receiver reads each NDJSON body and answers one 201 per document, as _bulk does; the OTLP
receiver decodes each request with opentelemetry-proto (give a Python that has it with --otel-python).

  /usr/bin/python3 scripts/bench_export.py --binary .build/release/stepflow-monitor \
      --otel-python ~/.cache/stepflow-monitoring/otel-venv/bin/python
"""
import argparse, json, os, subprocess, sys, textwrap, time

from hostlib import cpu_seconds, free_port, request, running_host

# A receiver on 127.0.0.1:<argv[1]>: GET answers how many items arrived; POST reads a body (gunzipped) with the
# read(body) -> (items, answer bytes, content type) given to receiver().
def receiver(read):
    return "import gzip, json, signal, sys\n" + textwrap.dedent(read) + textwrap.dedent("""
        from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        count = [0]
        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def reply(self, body, content_type):
                self.send_response(200); self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
            def do_GET(self):
                self.reply(json.dumps({"count": count[0]}).encode(), "application/json")
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                items, answer, content_type = read(body)
                count[0] += items
                self.reply(answer, content_type)
            def log_message(self, *a): pass
        ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
    """)


# Elasticsearch _bulk: one 201 per create action.
ES_RECEIVER = receiver("""
    def read(body):
        items = [{"create": {"_index": json.loads(a)["create"]["_index"], "_id": json.loads(a)["create"]["_id"], "status": 201}}
                 for a in body.split(b"\\n")[0:-1:2]]
        return len(items), json.dumps({"took": 1, "errors": False, "items": items}).encode(), "application/json"
""")

# OTLP/HTTP traces, decoded with opentelemetry-proto.
OTLP_RECEIVER = receiver("""
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as ts
    def read(body):
        request = ts.ExportTraceServiceRequest(); request.ParseFromString(body)
        spans = sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
        return spans, ts.ExportTraceServiceResponse().SerializeToString(), "application/x-protobuf"
""")


def get(port, path):
    status, body = request(port, "GET", path, timeout=10)
    return body.decode()


def wait(condition, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if condition():
                return
        except Exception:
            pass
        time.sleep(0.05)
    sys.exit(f"bench_export: timed out waiting for {what}")


def run(args, name, kind, receiver_python, receiver_script, exporter_yaml, job, items, make_batch, path):
    receiver_port = free_port()
    yaml = "plugins: []\nscheduler: {max_backoff: 1s}\n" + exporter_yaml.format(receiver=receiver_port)
    receiver = None
    with running_host(args.binary, yaml, prefix="bench-export-") as (host, port):
        try:
            wait(lambda: f'"{job}"' in get(port, "/health") and
                 json.loads(get(port, "/health"))["components"][job]["details"].get("runs", 0) >= 1, 60,
                 "the exporter's first run")
            print(f"{name}: storing the backlog of a 10-minute outage: {items:,} {kind} ...", flush=True)
            started = time.time()
            for start in range(0, items, 1000):
                status, answer = request(port, "POST", path, make_batch(start, min(1000, items - start)), timeout=60)
                if status != 200:
                    sys.exit(f"bench_export: {path} answered {status}: {answer[:300]!r}")
            print(f"{name}: stored in {time.time() - started:.1f} s; starting the receiver", flush=True)
            cpu_before = cpu_seconds(host.pid)
            receiver = subprocess.Popen([receiver_python, "-c", receiver_script, str(receiver_port)])
            began = time.time()
            last_report = began
            while True:
                try:
                    arrived = json.loads(get(receiver_port, "/"))["count"]
                except Exception:
                    arrived = 0
                if arrived >= items:
                    break
                if time.time() - last_report > 5:
                    print(f"{name}: {arrived:,} / {items:,} arrived after {time.time() - began:.0f} s", flush=True)
                    last_report = time.time()
                if time.time() - began > args.timeout:
                    sys.exit(f"bench_export: {name}: only {arrived:,} of {items:,} arrived in {args.timeout} s")
                time.sleep(0.05)
            elapsed = time.time() - began
            cpu = cpu_seconds(host.pid) - cpu_before
            return {"exporter": name, "items": items, "catch_up_s": elapsed, "per_s": items / elapsed,
                    "cpu_ms_per_1000": cpu * 1000 / (items / 1000)}
        finally:
            if receiver:
                receiver.terminate()
                receiver.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--otel-python", default=os.environ.get("STEPFLOW_OTEL_PYTHON"))
    parser.add_argument("--rate", type=int, default=500, help="items per second during the 10-minute outage")
    parser.add_argument("--timeout", type=int, default=900)
    args = parser.parse_args()
    items = args.rate * 600
    now_ms = int(time.time() * 1000)

    def logs(start, count):
        return json.dumps({"logs": [{"level": "info", "message": f"request {start + i} served", "component": "web",
                                     "trace_id": "5b8efff798038103d269b633813fc60c", "fields": {"status": 200, "ms": i % 50}}
                                    for i in range(count)]})

    def spans(start, count):
        return json.dumps({"spans": [{"trace_id": f"{start + i + 1:032x}", "span_id": f"{start + i + 1:016x}",
                                      "name": "GET /orders", "start_time": now_ms - 1000, "end_time": now_ms - 958,
                                      "attributes": {"http.method": "GET", "http.status_code": 200}}
                                     for i in range(count)]})

    results = [run(args, "elasticsearch", "log entries", sys.executable, ES_RECEIVER,
                   "logs: {{enable_export: true, export_interval: 1s, flush_interval: 100ms}}\n"
                   "exporters: {{elasticsearch: {{enabled: true, url: 'http://127.0.0.1:{receiver}'}}}}\n",
                   "exporter:elasticsearch:logs", items, logs, "/api/v1/logs")]
    if args.otel_python:
        results.append(run(args, "otlp", "spans", args.otel_python, OTLP_RECEIVER,
                           "tracing: {{enable_export: true, export_interval: 1s}}\n"
                           "exporters: {{otlp: {{enabled: true, endpoint: 'http://127.0.0.1:{receiver}'}}}}\n",
                           "exporter:otlp:traces", items, spans, "/api/v1/spans"))
    else:
        print("bench_export: no --otel-python with opentelemetry-proto: the OTLP run is skipped", file=sys.stderr)
    print()
    print("| exporter | backlog (10 min at %d/s) | catch-up | items/s | host CPU per 1,000 |" % args.rate)
    print("|---|---|---|---|---|")
    for r in results:
        print(f"| {r['exporter']} | {r['items']:,} | {r['catch_up_s']:.1f} s | {r['per_s']:,.0f} | {r['cpu_ms_per_1000']:.1f} ms |")


if __name__ == "__main__":
    main()

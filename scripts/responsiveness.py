#!/usr/bin/env python3
"""Responsiveness of a host under long storage scans (issue 13, point 2).

Starts `stepflow-monitor` on a fresh database, stores N log entries through POST /api/v1/logs, then for a
window runs two clients that repeat a log substring query matching nothing (each one scans every row), while a
third probes GET /health/live every 10 ms on a kept-alive connection. It reports the probe's latency
percentiles and how late the host's 1-second jobs started in the window (from the scheduler's own
stepflow_job_start_lateness_seconds histograms, scraped before and after).

    python3 scripts/responsiveness.py --binary .build/release/stepflow-monitor [--logs 1000000] [--seconds 20]

Targets: /health/live p99 < 10 ms; every 1-second job starts within 100 ms of its planned time.
"""
import argparse
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

from hostlib import free_port, request, wait_for_port


def seed(port, count, batch=5000):
    sent = 0
    started = time.time()
    words = ["disk", "queue", "retry", "request", "cache", "worker", "socket", "timeout"]
    while sent < count:
        size = min(batch, count - sent)
        entries = [
            {
                "level": ["info", "warn", "error", "debug"][(sent + i) % 4],
                "message": f"{words[(sent + i) % 8]} event {sent + i} handled by worker {(sent + i) % 17}",
                "component": f"service-{(sent + i) % 5}",
            }
            for i in range(size)
        ]
        status, body = request(port, "POST", "/api/v1/logs", json.dumps({"logs": entries}))
        if status != 200:
            sys.exit(f"POST /api/v1/logs answered {status}: {body[:300]!r}")
        sent += size
        if sent % 100_000 == 0 or sent == count:
            rate = sent / max(time.time() - started, 1e-9)
            print(f"  stored {sent:,} of {count:,} log entries ({rate:,.0f}/s)", flush=True)


LATENESS = re.compile(
    r'^stepflow_job_start_lateness_seconds_(bucket|count)\{([^}]*)\} (\S+)$', re.M)


def lateness(port):
    """Per job: (starts, starts within 100 ms)."""
    _, body = request(port, "GET", "/metrics")
    jobs = {}
    for kind, labels, value in LATENESS.findall(body.decode()):
        job = re.search(r'job="([^"]*)"', labels).group(1)
        entry = jobs.setdefault(job, [0, 0])
        if kind == "count":
            entry[0] = float(value)
        elif 'le="0.1"' in labels:
            entry[1] = float(value)
    return jobs


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=".build/release/stepflow-monitor")
    parser.add_argument("--logs", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=20)
    arguments = parser.parse_args()
    if not os.access(arguments.binary, os.X_OK):
        sys.exit(f"{arguments.binary} is not an executable; build it first (swift build -c release)")

    directory = tempfile.mkdtemp(prefix="stepflow-responsiveness-")
    port = free_port()
    config = os.path.join(directory, "config.yaml")
    with open(config, "w") as file:
        file.write(f"""storage:
  path: {directory}/monitoring.sqlite
http:
  port: {port}
  max_body_size: 16777216
scheduler:
  jitter: 0
metrics:
  collection_interval: 1s
health:
  check_interval: 1s
plugins: []
""")
    log = open(os.path.join(directory, "host.log"), "w")
    host = subprocess.Popen([arguments.binary, "run", "--config", config], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, host)
        print(f"host pid {host.pid} on port {port}; storing {arguments.logs:,} log entries", flush=True)
        seed(port, arguments.logs)
        time.sleep(2)  # let the last batches settle before the window opens
        before = lateness(port)

        stop = threading.Event()
        scans = []

        def scanner():
            while not stop.is_set():
                started = time.perf_counter()
                status, _ = request(port, "GET", "/api/v1/logs?q=no-such-text-anywhere&limit=100")
                if status == 200:
                    scans.append(time.perf_counter() - started)

        probes = []

        def prober():
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            while not stop.is_set():
                started = time.perf_counter()
                connection.request("GET", "/health/live")
                connection.getresponse().read()
                probes.append(time.perf_counter() - started)
                time.sleep(0.01)

        threads = [threading.Thread(target=scanner) for _ in range(2)] + [threading.Thread(target=prober)]
        print(f"window: {arguments.seconds:.0f} s of two full-table log scans, /health/live every 10 ms", flush=True)
        for thread in threads:
            thread.start()
        time.sleep(arguments.seconds)
        stop.set()
        for thread in threads:
            thread.join()
        after = lateness(port)
    finally:
        host.send_signal(signal.SIGTERM)
        host.wait(timeout=60)
        log.close()

    milliseconds = [p * 1000 for p in probes]
    print(f"\nlog scans completed: {len(scans)} (mean {sum(scans) / max(len(scans), 1):.2f} s each)")
    print(f"/health/live: {len(probes)} probes, p50 {percentile(milliseconds, 50):.2f} ms, "
          f"p99 {percentile(milliseconds, 99):.2f} ms, max {max(milliseconds):.2f} ms")
    print("1-second jobs in the window (starts, of which later than 100 ms):")
    worst = 0
    for job in sorted(after):
        starts = after[job][0] - before.get(job, [0, 0])[0]
        late = starts - (after[job][1] - before.get(job, [0, 0])[1])
        if starts >= arguments.seconds / 2:  # the jobs that run every second or so
            print(f"  {job}: {starts:.0f} starts, {late:.0f} late")
            worst = max(worst, late)
    verdict = percentile(milliseconds, 99) < 10 and worst == 0
    print(f"\ntargets (p99 < 10 ms, no 1-second job later than 100 ms): {'met' if verdict else 'NOT met'}")
    print(f"(host log: {directory}/host.log)")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Ingest throughput against a real Prometheus, same samples, same run (issue 16, point 5).

The workload: `--series` series (default 20,000) x `--points` points (default 50) one second apart, ending now;
the points are sent in time order, each request holding `--batch` samples (default 2,000) of one point in time, so
the first requests create the series. Requests go out over `--connections` connections (default 2), prepared
before timing starts.

1. Prometheus (`--prometheus`, 2.42 from Debian), started with --web.enable-remote-write-receiver on a fresh TSDB,
   receives the samples as remote write 1.0.
2. stepflow-monitor (`--binary`, a release build), each time on a fresh database, receives them as JSON
   (POST /api/v1/metrics), as remote write (POST /api/v1/write) and as OTLP metrics (POST /v1/metrics: counters
   as cumulative monotonic sums, the rest as gauges).

For each: samples per second (wall clock from the first request to the last answer) and samples per CPU-second of
the receiving process (utime + stime from /proc), the ratio to Prometheus, and the number of samples stored
(Prometheus: count_over_time over the range; ours: rows in monitoring_metrics after SIGTERM, which writes
everything queued).

    python3 scripts/bench_ingest.py --binary .build/release/stepflow-monitor [--only json,remote-write,otlp]

Needs python3-snappy (apt-get install python3-snappy) for the remote-write bodies.
"""
import argparse
import http.client
import json
import os
import signal
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

from hostlib import cpu_seconds, free_port, request, wait_for_port

try:
    import snappy
except ImportError:
    sys.exit("bench_ingest: needs python3-snappy (apt-get install python3-snappy)")

NAMES = ["bench_requests_total", "bench_latency_seconds", "bench_queue_depth", "bench_bytes_total",
         "bench_temperature_celsius", "bench_errors_total", "bench_connections", "bench_memory_bytes",
         "bench_cpu_seconds_total", "bench_load"]


def workload(series, points, batch, end_ms):
    """Yields (timestamp_ms, [(name, labels, value)]) requests in time order."""
    identities = []
    for index in range(series):
        labels = [("instance", f"10.0.{index // 250 % 256}.{index % 250}:9100"), ("job", "bench"),
                  ("region", f"eu-{index % 3}"), ("shard", str(index // 10 % 200))]
        identities.append((NAMES[index % len(NAMES)], labels))
    for point in range(points):
        timestamp = end_ms - (points - 1 - point) * 1000
        for start in range(0, series, batch):
            chunk = identities[start:start + batch]
            yield timestamp, [(name, labels, float((point * 7 + i) % 1000)) for i, (name, labels) in enumerate(chunk)]


def json_body(timestamp, samples):
    metrics = []
    for name, labels, value in samples:
        metrics.append({"name": name, "type": "counter" if name.endswith("_total") else "gauge", "value": value,
                        "labels": dict(labels), "timestamp": timestamp})
    return json.dumps({"metrics": metrics}).encode()


def varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field(number, payload):
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def remote_write_body(timestamp, samples):
    """A snappy-compressed prometheus.WriteRequest, encoded by hand (its four messages are tiny)."""
    out = bytearray()
    for name, labels, value in samples:
        series = bytearray()
        for label_name, label_value in [("__name__", name)] + sorted(labels):
            series += field(1, field(1, label_name.encode()) + field(2, label_value.encode()))
        sample = b"\x09" + struct.pack("<d", value) + b"\x10" + varint(timestamp)
        series += field(2, sample)
        out += field(1, bytes(series))
    return snappy.compress(bytes(out))


def otlp_body(timestamp, samples):
    """An opentelemetry.proto ExportMetricsServiceRequest, encoded by hand: one metric per name, one data point
    per sample, its labels as string attributes."""
    by_name = {}
    for name, labels, value in samples:
        by_name.setdefault(name, []).append((labels, value))
    nanos = struct.pack("<Q", timestamp * 1_000_000)
    metrics = bytearray()
    for name, points in by_name.items():
        encoded = bytearray()
        for labels, value in points:
            point = bytearray()
            for key, text in labels:
                point += field(7, field(1, key.encode()) + field(2, field(1, text.encode())))
            point += b"\x19" + nanos + b"\x21" + struct.pack("<d", value)
            encoded += field(1, bytes(point))
        if name.endswith("_total"):
            metric = field(1, name.encode()) + field(7, bytes(encoded) + b"\x10\x02\x18\x01")
        else:
            metric = field(1, name.encode()) + field(5, bytes(encoded))
        metrics += field(2, metric)
    return field(1, field(2, bytes(metrics)))


def send_all(port, path, bodies, headers, connections):
    """Sends the bodies over `connections` keep-alive connections, body i on connection i % connections; returns
    the wall-clock seconds and the statuses seen."""
    statuses = {}
    lock = threading.Lock()
    failures = []

    def worker(slot):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        for index in range(slot, len(bodies), connections):
            connection.request("POST", path, body=bodies[index], headers=headers)
            response = connection.getresponse()
            body = response.read()
            with lock:
                statuses[response.status] = statuses.get(response.status, 0) + 1
                if response.status >= 300 and len(failures) < 3:
                    failures.append(f"{response.status} {body[:300]!r}")
        connection.close()

    threads = [threading.Thread(target=worker, args=(slot,)) for slot in range(connections)]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - start
    for failure in failures:
        print(f"    refused: {failure}", flush=True)
    return elapsed, statuses


def report(label, samples, elapsed, cpu, stored, reference=None):
    rate = samples / elapsed
    per_cpu = samples / cpu if cpu > 0 else float("inf")
    line = f"{label:<34} {rate / 1000:8.1f}k samples/s  {per_cpu / 1000:8.1f}k samples/CPU-s  stored {stored:>9,}"
    if reference:
        line += f"  ratio {rate / reference[0]:.2f}x rate, {per_cpu / reference[1]:.2f}x per CPU-s"
    print(line, flush=True)
    return rate, per_cpu


def run_prometheus(binary, directory, bodies, connections, end_ms, points):
    port = free_port()
    config = os.path.join(directory, "prometheus.yml")
    with open(config, "w") as f:
        f.write("global:\n  scrape_interval: 1h\n")
    log = open(os.path.join(directory, "prometheus.log"), "w")
    process = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.tsdb.path={directory}/tsdb",
         f"--web.listen-address=127.0.0.1:{port}", "--web.enable-remote-write-receiver"],
        stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 60
        while True:
            try:
                if request(port, "GET", "/-/ready", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline or process.poll() is not None:
                sys.exit("prometheus did not become ready; see " + log.name)
            time.sleep(0.2)
        before = cpu_seconds(process.pid)
        elapsed, statuses = send_all(port, "/api/v1/write", bodies,
                                     {"Content-Type": "application/x-protobuf", "Content-Encoding": "snappy",
                                      "X-Prometheus-Remote-Write-Version": "0.1.0"}, connections)
        cpu = cpu_seconds(process.pid) - before
        query = urllib.parse.quote(f'sum(count_over_time({{job="bench"}}[{points + 60}s]))')
        status, body = request(port, "GET", f"/api/v1/query?query={query}&time={end_ms / 1000 + 1}")
        result = json.loads(body)["data"]["result"]
        stored = int(float(result[0]["value"][1])) if result else 0
        return elapsed, cpu, stored, statuses
    finally:
        process.terminate()
        process.wait()


def run_host(binary, directory, name, path, bodies, headers, connections):
    # The previous run's database written out first, so that its write-back does not fall into this run.
    os.sync()
    port = free_port()
    config = os.path.join(directory, f"{name}.yaml")
    database = os.path.join(directory, f"{name}.sqlite")
    with open(config, "w") as f:
        f.write(f"storage:\n  path: {database}\nhttp:\n  port: {port}\n")
    log = open(os.path.join(directory, f"{name}.log"), "w")
    process = subprocess.Popen([binary, "run", "--config", config], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, process)
        time.sleep(1)
        before = cpu_seconds(process.pid)
        elapsed, statuses = send_all(port, path, bodies, headers, connections)
        cpu = cpu_seconds(process.pid) - before
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=300)
    with sqlite3.connect(database) as db:
        stored = db.execute("SELECT COUNT(*) FROM monitoring_metrics WHERE name LIKE 'bench_%'").fetchone()[0]
    return elapsed, cpu, stored, statuses


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True, help="stepflow-monitor, a release build")
    parser.add_argument("--prometheus", default="/usr/bin/prometheus")
    parser.add_argument("--series", type=int, default=20_000)
    parser.add_argument("--points", type=int, default=50)
    parser.add_argument("--batch", type=int, default=2_000)
    parser.add_argument("--connections", type=int, default=2)
    parser.add_argument("--only", default="json,remote-write,otlp", help="which of our paths to run")
    arguments = parser.parse_args()
    total = arguments.series * arguments.points
    end_ms = int(time.time() * 1000) // 1000 * 1000
    print(f"workload: {arguments.series:,} series x {arguments.points} points = {total:,} samples, "
          f"{arguments.batch:,} per request, {arguments.connections} connections", flush=True)
    requests = list(workload(arguments.series, arguments.points, arguments.batch, end_ms))
    print("preparing remote-write bodies", flush=True)
    remote_write = [remote_write_body(timestamp, samples) for timestamp, samples in requests]
    paths = arguments.only.split(",")
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as directory:
        print("Prometheus, remote write ...", flush=True)
        elapsed, cpu, stored, statuses = run_prometheus(
            arguments.prometheus, directory, remote_write, arguments.connections, end_ms, arguments.points)
        reference = report("Prometheus 2.42, remote write", total, elapsed, cpu, stored)
        if "remote-write" in paths:
            print("stepflow-monitor, remote write ...", flush=True)
            elapsed, cpu, stored, statuses = run_host(
                arguments.binary, directory, "remote-write", "/api/v1/write", remote_write,
                {"Content-Type": "application/x-protobuf", "Content-Encoding": "snappy"}, arguments.connections)
            report("stepflow-monitor, remote write", total, elapsed, cpu, stored, reference)
        if "otlp" in paths:
            print("preparing OTLP bodies", flush=True)
            bodies = [otlp_body(timestamp, samples) for timestamp, samples in requests]
            print("stepflow-monitor, OTLP metrics ...", flush=True)
            elapsed, cpu, stored, statuses = run_host(
                arguments.binary, directory, "otlp", "/v1/metrics", bodies,
                {"Content-Type": "application/x-protobuf"}, arguments.connections)
            report("stepflow-monitor, OTLP metrics", total, elapsed, cpu, stored, reference)
            del bodies
        if "json" in paths:
            print("preparing JSON bodies", flush=True)
            bodies = [json_body(timestamp, samples) for timestamp, samples in requests]
            print("stepflow-monitor, JSON ...", flush=True)
            elapsed, cpu, stored, statuses = run_host(
                arguments.binary, directory, "json", "/api/v1/metrics", bodies,
                {"Content-Type": "application/json"}, arguments.connections)
            report("stepflow-monitor, JSON", total, elapsed, cpu, stored, reference)
            del bodies


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The profiler's own cost at its default settings (issue 15, point 6).

1. Idle: the host with the default configuration (only its port and database moved to a scratch directory) runs
   for `--window` seconds after it has settled. The profiler's part is the CPU of its own jobs, read from
   `stepflow_job_cpu_seconds_total`: `telemetry` (the host's own series stored every collection interval) and
   `profiler:usage` (the CPU snapshots behind /api/v1/profile). Reported as a share of one core, beside the
   host's whole CPU over the same window. Target: <= 0.05 % of one core.
2. Span ingest: POST /api/v1/spans, batches of 1,000 spans from 4 connections for `--ingest-seconds`, with
   `profiler.span_metrics` on (the default) and off, alternating three times; the best rate of each. Span metrics
   are the profiler's only work per ingested item. Target: <= 2 % slower with them on.

    python3 scripts/profiler_overhead.py --binary .build/release/stepflow-monitor [--window 300]
"""
import argparse
import json
import os
import random
import subprocess
import tempfile
import threading
import time

from hostlib import free_port, request, wait_for_port

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def job_cpu(port):
    """stepflow_job_cpu_seconds_total by job, from /metrics."""
    _, body = request(port, "GET", "/metrics")
    jobs = {}
    for line in body.decode().splitlines():
        if line.startswith("stepflow_job_cpu_seconds_total{"):
            labels, value = line.rsplit(" ", 1)
            job = labels.split('job="', 1)[1].split('"', 1)[0]
            jobs[job] = float(value)
    return jobs


def start_host(binary, directory, name, extra=""):
    port = free_port()
    config = os.path.join(directory, f"{name}.yaml")
    with open(config, "w") as f:
        f.write(f"storage:\n  path: {directory}/{name}.sqlite\nhttp:\n  port: {port}\n{extra}")
    log = open(os.path.join(directory, f"{name}.log"), "w")
    process = subprocess.Popen([binary, "run", "--config", config], stdout=log, stderr=subprocess.STDOUT)
    wait_for_port(port, process)
    return process, port


def stop(process):
    process.kill()
    process.wait()


def idle(binary, directory, window, settle):
    process, port = start_host(binary, directory, "idle")
    try:
        print(f"idle: settling {settle} s, then measuring {window} s", flush=True)
        time.sleep(settle)
        host_before, jobs_before = cpu_seconds(process.pid), job_cpu(port)
        time.sleep(window)
        host_after, jobs_after = cpu_seconds(process.pid), job_cpu(port)
    finally:
        stop(process)
    profiler_jobs = ("telemetry", "profiler:usage")
    used = {job: jobs_after.get(job, 0) - jobs_before.get(job, 0) for job in profiler_jobs}
    profiler = sum(used.values())
    host = host_after - host_before
    print(f"idle host: {host * 1000:.1f} ms CPU in {window} s ({host / window * 100:.4f} % of one core)")
    for job, seconds in used.items():
        print(f"  job {job}: {seconds * 1000:.2f} ms")
    print(f"profiler at idle: {profiler / window * 100:.4f} % of one core (target <= 0.05 %)")
    return profiler / window * 100


def span_bodies(count=40, size=1000):
    bodies = []
    for batch in range(count):
        spans = []
        for index in range(size):
            trace = "%032x" % random.getrandbits(128)
            spans.append({
                "trace_id": trace, "span_id": "%016x" % random.getrandbits(64),
                "name": f"operation-{index % 50}", "start_time": "2026-12-04T10:00:00Z",
                "end_time": "2026-12-04T10:00:00.%03dZ" % (index % 1000),
                "status": "error" if index % 17 == 0 else "ok",
            })
        bodies.append(json.dumps({"spans": spans}).encode())
    return bodies


def ingest_rate(port, bodies, seconds, connections=4):
    sent = [0] * connections
    end = time.time() + seconds

    def client(slot):
        index = slot
        while time.time() < end:
            status, _ = request(port, "POST", "/api/v1/spans", body=bodies[index % len(bodies)])
            if status == 200:
                sent[slot] += 1000
            index += connections

    threads = [threading.Thread(target=client, args=(slot,)) for slot in range(connections)]
    started = time.time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(sent) / (time.time() - started)


def spans(binary, directory, seconds, rounds=3):
    bodies = span_bodies()
    best = {"on": 0.0, "off": 0.0}
    for round_number in range(rounds):
        for setting in ("on", "off"):
            extra = "security:\n  rate_limit: 0\ntracing:\n  enable_sampling: false\n"
            if setting == "off":
                extra += "profiler:\n  span_metrics: false\n"
            process, port = start_host(binary, directory, f"spans-{setting}-{round_number}", extra)
            try:
                ingest_rate(port, bodies, 3)  # warm up
                rate = ingest_rate(port, bodies, seconds)
            finally:
                stop(process)
            best[setting] = max(best[setting], rate)
            print(f"spans, span_metrics {setting}: {rate:,.0f} spans/s", flush=True)
    cost = (1 - best["on"] / best["off"]) * 100
    print(f"span ingest: {best['on']:,.0f} spans/s with span metrics, {best['off']:,.0f} without: "
          f"{cost:+.2f} % (target <= 2 %)")
    return cost


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--window", type=int, default=300, help="idle seconds measured")
    parser.add_argument("--settle", type=int, default=30, help="idle seconds before measuring")
    parser.add_argument("--ingest-seconds", type=int, default=10)
    parser.add_argument("--skip-idle", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="stepflow-profiler-overhead-") as directory:
        if not args.skip_idle:
            idle(args.binary, directory, args.window, args.settle)
        spans(args.binary, directory, args.ingest_seconds)


if __name__ == "__main__":
    main()

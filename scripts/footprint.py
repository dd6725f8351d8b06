#!/usr/bin/env python3
"""Memory and CPU footprint of a host (issue 13, point 4).

Starts `stepflow-monitor` with the embedded default configuration plus both example collectors every second, on a
fresh database, and reports:

- idle RSS after a warm-up, split into anonymous and file-backed memory (/proc/PID/status), and the largest
  file-backed mappings (which libraries stay resident);
- CPU at idle over a window, beside collectd doing comparable work (cpu, memory, load, df, interface every
  second, written to CSV) in the same window, when collectd is installed;
- RSS after a burst of HTTP load (32 connections: /metrics scrapes and small metric ingests), and again every few
  seconds for a minute, against the target of 1.5 x idle.

    python3 scripts/footprint.py --binary .build/release/stepflow-monitor [--plugins .build/release]
                                 [--warmup 75] [--idle 120] [--burst 10] [--after 60]

Targets: idle RSS <= 30 MB; RSS back to <= 1.5 x idle within a minute of the burst; idle CPU <= 2 x collectd's.
"""
import argparse
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from hostlib import free_port, wait_for_port


def rollup(pid):
    """Rss, Rss_Anon, Rss_File and Rss_Shmem of a process, in kB (VmRSS, RssAnon, RssFile, RssShmem of
    /proc/PID/status)."""
    names = {"VmRSS": "Rss", "RssAnon": "Rss_Anon", "RssFile": "Rss_File", "RssShmem": "Rss_Shmem"}
    values = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[0].rstrip(":") in names:
                values[names[parts[0].rstrip(":")]] = int(parts[1])
    return values


def file_mappings(pid, top=8):
    """The file-backed mappings holding the most resident memory: (kB, path)."""
    by_path = {}
    current = None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 5 and "-" in fields[0] and ":" in fields[3]:
                current = fields[5] if len(fields) >= 6 and fields[5].startswith("/") else None
            elif current and fields and fields[0] == "Rss:":
                by_path[current] = by_path.get(current, 0) + int(fields[1])
    return sorted(((kb, path) for path, kb in by_path.items()), reverse=True)[:top]


def cpu_seconds(pid):
    """CPU time of every thread of `pid`, from /proc/PID/task/*/schedstat (nanoseconds; utime and stime count
    10 ms ticks, too coarse for a process that is idle)."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total / 1e9


def start_collectd(directory):
    binary = shutil.which("collectd") or ("/usr/sbin/collectd" if os.path.exists("/usr/sbin/collectd") else None)
    if binary is None:
        return None
    config = os.path.join(directory, "collectd.conf")
    with open(config, "w") as f:
        f.write(f"""Interval 1
BaseDir "{directory}"
PIDFile "{directory}/collectd.pid"
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db"
LoadPlugin cpu
LoadPlugin memory
LoadPlugin load
LoadPlugin df
LoadPlugin interface
LoadPlugin csv
<Plugin csv>
  DataDir "{directory}/csv"
</Plugin>
""")
    return subprocess.Popen([binary, "-f", "-C", config], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def burst(port, seconds, connections=32):
    deadline = time.time() + seconds
    counts = {"requests": 0, "errors": 0}
    lock = threading.Lock()
    body = json.dumps({"metrics": [
        {"name": "footprint_burst_value", "type": "gauge", "value": 1.0, "labels": {"client": str(i % 8)}}
        for i in range(50)
    ]})

    def client(index):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        done = errors = 0
        while time.time() < deadline:
            try:
                if index % 2 == 0:
                    connection.request("GET", "/metrics")
                else:
                    connection.request("POST", "/api/v1/metrics", body=body, headers={"Content-Type": "application/json"})
                response = connection.getresponse()
                response.read()
                done += 1
                if response.status >= 300:
                    errors += 1
            except OSError:
                errors += 1
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.close()
        with lock:
            counts["requests"] += done
            counts["errors"] += errors

    threads = [threading.Thread(target=client, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True, help="the stepflow-monitor to measure (a release build)")
    parser.add_argument("--plugins", help="where libStepflow*Collector.so are (default: beside the binary)")
    parser.add_argument("--warmup", type=float, default=75,
                        help="seconds before measuring; the host releases its start-up pages a minute after start")
    parser.add_argument("--idle", type=float, default=120, help="the idle CPU window, seconds")
    parser.add_argument("--burst", type=float, default=10)
    parser.add_argument("--after", type=float, default=60, help="how long RSS is followed after the burst")
    arguments = parser.parse_args()
    plugins = os.path.abspath(arguments.plugins or os.path.dirname(arguments.binary))
    for name in ("libStepflowSystemCollector.so", "libStepflowFilesystemCollector.so"):
        if not os.path.exists(os.path.join(plugins, name)):
            sys.exit(f"{name} is not in {plugins}: build it (swift build -c release) or pass --plugins")

    directory = tempfile.mkdtemp(prefix="stepflow-footprint-")
    port = free_port()
    config = os.path.join(directory, "config.yaml")
    with open(config, "w") as f:
        f.write(f"""storage:
  path: {directory}/monitoring.db
http:
  port: {port}
security:
  # The burst is one client address sending as fast as it can: measure the requests, not 429s.
  rate_limit: 0
plugins:
  - name: system
    path: {plugins}/libStepflowSystemCollector.so
    interval: 1s
  - name: filesystem
    path: {plugins}/libStepflowFilesystemCollector.so
    interval: 1s
""")
    log = open(os.path.join(directory, "host.log"), "w")
    host = subprocess.Popen([arguments.binary, "run", "--config", config], stdout=log, stderr=subprocess.STDOUT)
    collectd = None
    try:
        wait_for_port(port, host)
        print(f"host pid {host.pid}, port {port}; warming up {arguments.warmup:.0f} s", flush=True)
        collectd = start_collectd(directory)
        time.sleep(arguments.warmup)

        idle = rollup(host.pid)
        print(f"idle RSS            {idle['Rss'] / 1024:6.1f} MB  (anonymous {idle['Rss_Anon'] / 1024:.1f} MB, "
              f"file-backed {idle['Rss_File'] / 1024:.1f} MB, shared memory {idle.get('Rss_Shmem', 0) / 1024:.1f} MB)")
        print("largest file-backed mappings:")
        for kb, path in file_mappings(host.pid):
            print(f"  {kb / 1024:6.1f} MB  {path}")

        print(f"idle CPU over {arguments.idle:.0f} s ...", flush=True)
        host_start = cpu_seconds(host.pid)
        collectd_start = cpu_seconds(collectd.pid) if collectd else None
        time.sleep(arguments.idle)
        host_cpu = (cpu_seconds(host.pid) - host_start) / arguments.idle * 100
        line = f"idle CPU            {host_cpu:6.2f} % of one core"
        if collectd and collectd.poll() is None:
            collectd_cpu = (cpu_seconds(collectd.pid) - collectd_start) / arguments.idle * 100
            collectd_rss = rollup(collectd.pid)["Rss"] / 1024
            line += f"; collectd {collectd_cpu:.2f} % ({host_cpu / max(collectd_cpu, 0.001):.1f} x), RSS {collectd_rss:.1f} MB"
        else:
            line += "; collectd is not installed (apt-get install collectd-core), no comparison"
        print(line, flush=True)

        counts = burst(port, arguments.burst)
        peak = rollup(host.pid)["Rss"] / 1024
        print(f"burst               {counts['requests']} requests in {arguments.burst:.0f} s over 32 connections "
              f"({counts['errors']} errors); RSS right after: {peak:.1f} MB", flush=True)
        target = idle["Rss"] / 1024 * 1.5
        started = time.time()
        settled = None
        while time.time() - started < arguments.after:
            time.sleep(5)
            rss = rollup(host.pid)["Rss"] / 1024
            print(f"  +{time.time() - started:4.0f} s  RSS {rss:6.1f} MB", flush=True)
            if settled is None and rss <= target:
                settled = time.time() - started
        final = rollup(host.pid)
        verdict = f"within {settled:.0f} s" if settled is not None else f"not within {arguments.after:.0f} s"
        print(f"after the burst     {final['Rss'] / 1024:6.1f} MB (anonymous {final['Rss_Anon'] / 1024:.1f} MB); "
              f"<= 1.5 x idle ({target:.1f} MB) {verdict}")
    finally:
        if collectd:
            collectd.terminate()
            collectd.wait()
        host.send_signal(signal.SIGTERM)
        try:
            host.wait(timeout=60)
        except subprocess.TimeoutExpired:
            host.kill()
        log.close()
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()

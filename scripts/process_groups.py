#!/usr/bin/env python3
"""CPU per /proc scan: the profiler's process groups beside prometheus-process-exporter (issue 15, point 1).

Starts `--processes` sleep processes (500 by default) beside what the machine already runs, then, one after the
other, for `--window` seconds each:

1. the host with a minimal configuration and no process groups (its baseline CPU);
2. the same host with three groups (sleep, python3, bash) scanned every second;
3. prometheus-process-exporter with the same three groups (`-threads=false`: per-thread series are something the
   profiler does not produce), scraped every second (it scans on each scrape).

The profiler's cost per scan is (2 - 1) / scans; process-exporter's is its CPU / scrapes. With `--proportional`,
both also read every member's proportional memory (`profiler.proportional_memory: true`, process-exporter's
`-gather-smaps=true`).

    python3 scripts/process_groups.py --binary .build/release/stepflow-monitor [--processes 500] [--window 60] \
        [--proportional]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

from hostlib import cpu_seconds, free_port, wait_for_port



def measure(pid, window, poke=None):
    """CPU seconds `pid` used over `window` seconds, calling `poke` once a second; and how many pokes."""
    start = cpu_seconds(pid)
    pokes = 0
    end = time.time() + window
    while time.time() < end:
        if poke:
            poke()
            pokes += 1
        time.sleep(1)
    return cpu_seconds(pid) - start, pokes


def host(binary, directory, groups, window, proportional=False):
    port = free_port()
    config = os.path.join(directory, "host.yaml")
    with open(config, "w") as f:
        f.write(f"storage:\n  path: {directory}/db-{groups}.sqlite\nhttp:\n  port: {port}\nsecurity:\n  rate_limit: 0\n")
        if groups:
            f.write("profiler:\n  scan_interval: 1s\n")
            if proportional:
                f.write("  proportional_memory: true\n")
            f.write("  processes:\n")
            for comm in ("sleep", "python3", "bash"):
                f.write(f"    - {{name: {comm}, match: {{comm: {comm}}}}}\n")
    log = open(os.path.join(directory, f"host-{groups}.log"), "w")
    process = subprocess.Popen([binary, "run", "--config", config], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, process)
        time.sleep(15)  # let start-up work (migrations, the first page-out) pass before the window
        used, _ = measure(process.pid, window)
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
        members = [line for line in body.splitlines() if line.startswith('stepflow_process_group_processes{group="sleep"}')]
        runs = [line for line in body.splitlines() if line.startswith('stepflow_job_runs_total{job="profiler:processes"')]
        return used, members, runs
    finally:
        process.terminate()
        process.wait()


def exporter(directory, window, proportional=False):
    config = os.path.join(directory, "process-exporter.yaml")
    with open(config, "w") as f:
        f.write("process_names:\n")
        for comm in ("sleep", "python3", "bash"):
            f.write(f"  - name: {comm}\n    comm:\n    - {comm}\n")
    port = free_port()
    process = subprocess.Popen(
        ["prometheus-process-exporter", "-config.path", config, "-threads=false",
         "-web.listen-address", f"127.0.0.1:{port}", f"-gather-smaps={'true' if proportional else 'false'}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        for _ in range(100):
            try:
                urllib.request.urlopen(url).read()
                break
            except OSError:
                time.sleep(0.1)
        time.sleep(5)
        return measure(process.pid, window, poke=lambda: urllib.request.urlopen(url).read())
    finally:
        process.terminate()
        process.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--processes", type=int, default=500)
    parser.add_argument("--window", type=int, default=60)
    parser.add_argument("--proportional", action="store_true", help="both read proportional memory (smaps)")
    args = parser.parse_args()
    if not shutil.which("prometheus-process-exporter"):
        sys.exit("prometheus-process-exporter is not installed (apt-get install prometheus-process-exporter)")
    sleepers = [subprocess.Popen(["sleep", "100000"]) for _ in range(args.processes)]
    try:
        total = len([name for name in os.listdir("/proc") if name.isdigit()])
        print(f"{args.processes} sleep processes started; {total} processes in /proc")
        with tempfile.TemporaryDirectory(prefix="stepflow-process-groups-") as directory:
            baseline, _, _ = host(args.binary, directory, False, args.window)
            print(f"host without groups   {baseline:.3f} CPU s in {args.window} s")
            profiled, members, runs = host(args.binary, directory, True, args.window, args.proportional)
            print(f"host with 3 groups    {profiled:.3f} CPU s in {args.window} s; {members} {runs}")
            ours = (profiled - baseline) / args.window
            theirs, scrapes = exporter(directory, args.window, args.proportional)
            per_scrape = theirs / max(scrapes, 1)
            print(f"process-exporter      {theirs:.3f} CPU s over {scrapes} scrapes")
            print(f"CPU per scan: profiler {ours * 1000:.2f} ms, process-exporter {per_scrape * 1000:.2f} ms "
                  f"({ours / per_scrape:.2f} x); target <= 0.5 x")
    finally:
        for sleeper in sleepers:
            sleeper.kill()
        for sleeper in sleepers:
            sleeper.wait()


if __name__ == "__main__":
    main()

"""What the scripts that start a stepflow-monitor host share: a free port, one request, waiting for it to listen,
a host on a fresh database, the CPU a process has used."""
import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port, method, path, body=None, timeout=300):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Content-Type": "application/json"} if body is not None else {}
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, data


def wait_for_port(port, process, deadline=120):
    end = time.time() + deadline
    while time.time() < end:
        if process.poll() is not None:
            sys.exit(f"the host exited with status {process.returncode} before listening; see its log")
        try:
            if request(port, "GET", "/health/live", timeout=2)[0] == 200:
                return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"the host did not listen on 127.0.0.1:{port} within {deadline} s")


def cpu_seconds(pid):
    """utime + stime of `pid` from /proc/PID/stat, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def running_host(binary, yaml, prefix="stepflow-bench-"):
    """A stepflow-monitor on a fresh database in a new temporary directory, on a free port of 127.0.0.1, with
    `yaml` after its `storage` and `http` lines. Yields (process, port) once it listens; on leaving, stops it with
    SIGTERM (which writes everything queued; killed after 60 s) and removes the directory."""
    work = tempfile.mkdtemp(prefix=prefix)
    port = free_port()
    config = os.path.join(work, "config.yaml")
    with open(config, "w") as f:
        f.write(f"storage: {{path: {work}/m.sqlite}}\nhttp: {{port: {port}}}\n" + yaml)
    host = subprocess.Popen([binary, "run", "--config", config], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, host)
        yield host, port
    finally:
        host.send_signal(signal.SIGTERM)
        try:
            host.wait(timeout=60)
        except subprocess.TimeoutExpired:
            host.kill()
            host.wait()
        shutil.rmtree(work, ignore_errors=True)

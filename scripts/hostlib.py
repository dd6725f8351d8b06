"""What the scripts that start a stepflow-monitor host share: a free port, one request, waiting for it to listen,
the CPU a process has used."""
import http.client
import os
import socket
import sys
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

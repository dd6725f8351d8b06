"""What the scripts that start a stepflow-monitor host share: a free port, one request, waiting for it to listen."""
import http.client
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

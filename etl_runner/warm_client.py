"""Hand a run to the warm runner server (warm_server.py) and behave exactly like the run itself.

`python -m etl_runner` checks `RUNNER_WARM_SOCKET` before importing anything heavy. If a server
listens there, this process sends its arguments, environment, working directory and its stdin,
stdout and stderr (as file descriptors), then waits: the server forks a pre-imported child that
runs the job with this process's streams and environment. This process forwards SIGTERM / SIGINT /
SIGHUP to the child and exits with the child's exit code (or dies by the child's signal), so
launchers, cancel and the fault-injection tests see one runner process either way. If this process
is killed, the child notices the closed connection and kills itself.

If nothing listens at the socket, `run_warm` returns None and the caller runs in-process.
Only the standard library is imported here: this is the start-up path being saved.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import sys

FORWARDED_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def run_warm(socket_path: str, argv: list[str]) -> int | None:
    """Run `argv` in the warm server's child; None when no server answers at `socket_path`."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(socket_path)
    except OSError:
        sock.close()
        return None
    with sock:
        try:
            _send_request(sock, argv)
        except OSError as exc:
            print(f"etl_runner: the warm runner server refused the run: {exc}", file=sys.stderr)
            return 1
        return _wait_for_child(sock)


def _send_request(sock: socket.socket, argv: list[str]) -> None:
    umask = os.umask(0o077)
    os.umask(umask)
    payload = json.dumps({"argv": argv, "env": dict(os.environ), "cwd": os.getcwd(), "umask": umask}).encode()
    message = struct.pack("!I", len(payload)) + payload
    sent = socket.send_fds(sock, [message], [0, 1, 2])
    if sent < len(message):
        sock.sendall(message[sent:])


def _wait_for_child(sock: socket.socket) -> int:
    lines = sock.makefile("rb")
    started = _read_message(lines)
    if started is None or "pid" not in started:
        print("etl_runner: the warm runner server closed the connection before starting the run",
              file=sys.stderr)
        return 1
    child = int(started["pid"])
    for sig in FORWARDED_SIGNALS:
        signal.signal(sig, lambda signum, _frame: _forward(child, signum))
    result = _read_message(lines)
    if result is None or "exit" not in result:
        print(f"etl_runner: lost the warm runner server while run process {child} was working",
              file=sys.stderr)
        return 1
    _write_stats(result)
    code = int(result["exit"])
    if code < 0:  # the child died by a signal: die the same way
        for sig in FORWARDED_SIGNALS:
            signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
        return 128 - code
    return code


def _read_message(lines) -> dict | None:
    line = lines.readline()
    if not line:
        return None
    try:
        return json.loads(line)
    except ValueError:
        return None


def _forward(child: int, signum: int) -> None:
    try:
        os.kill(child, signum)
    except ProcessLookupError:
        pass


def _write_stats(result: dict) -> None:
    """Benchmarks: RUNNER_WARM_STATS=<path> receives the child's peak RSS (this process never held the data)."""
    path = os.environ.get("RUNNER_WARM_STATS")
    if path:
        with open(path, "w") as f:
            json.dump({"maxrss_kb": result.get("maxrss_kb"), "pid": result.get("pid")}, f)

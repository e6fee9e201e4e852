"""Warm runner server: `python -m etl_runner serve --socket PATH` (local platform only).

A run's own work can be far shorter than Python starting and importing pydantic, pyarrow, DuckDB and
the drivers (about 0.3 s here, against 0.4 s of work for an incremental run of 50,000 rows). This
server imports all of that once, then forks one child per run, the way PySpark's worker daemon and
gunicorn's preload do. A child starts with everything imported and runs `cli.main` with the
requesting process's argv, environment, working directory and stdin/stdout/stderr (received as file
descriptors over the Unix socket; see warm_client.py for the other side).

Fork safety: the server itself never starts a thread, opens a connection or uses Arrow's thread
pool, so a child inherits no lock held by a thread that does not exist in it. Cloud clients
(gRPC, boto, azure) are not preloaded: they create threads, and runs that need them import them
in the child. A setting read from the environment at import time would carry the server's value
into every run, so the preloaded modules read their settings when a run uses them.

The child takes the requester's argv, environment (TZ applied), working directory, umask and stdio; it keeps
the server's resource limits and locale.
Only processes of the same user may connect (the socket is 0600 and the peer's uid is checked).
Stopping the server stops the runs it is serving: their clients lose the connection and exit with 1, which
closes the children's connections, and the children stop (the platform's reaper closes such runs).
"""

from __future__ import annotations

import importlib
import json
import os
import random
import selectors
import signal
import socket
import struct
import sys
import threading
import time
import traceback

PRELOAD = (
    "pyarrow", "pyarrow.compute", "pyarrow.csv", "pyarrow.json", "pyarrow.parquet", "duckdb", "requests",
    "adbc_driver_manager.dbapi", "adbc_driver_postgresql.dbapi", "pymysql", "sqlite3",
    "etl_runner.cli", "etl_runner.client", "etl_runner.pipeline", "etl_runner.load.duckdb",
    "etl_runner.extract.postgres", "etl_runner.extract.mysql", "etl_runner.extract.sqlite",
    "etl_runner.extract.files",
)
MAX_REQUEST_BYTES = 1 << 20


def preload() -> list[str]:
    """Import what runs need; returns the modules that could not be imported (they load in the child)."""
    missing = []
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


def serve(socket_path: str) -> int:
    """Accept runs until SIGTERM/SIGINT; each run is a forked child reported back when it exits."""
    try:
        os.close(os.pidfd_open(os.getpid()))
    except (AttributeError, OSError) as exc:
        _log(f"cannot serve: pidfds are not available here ({exc}); runs start cold")
        return 1
    missing = preload()
    listener = _listen(socket_path)
    if listener is None:
        return 1
    _log(f"warm runner server on {socket_path} (pid {os.getpid()}); not preloaded: {missing or 'none'}")
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ, None)
    try:
        while not stopping:
            for key, _ in sel.select(timeout=0.5):
                if key.data is None:
                    _accept(listener, sel)
                else:
                    _reap(key, sel)
    finally:
        listener.close()
        if os.path.exists(socket_path):
            os.unlink(socket_path)
    _log("warm runner server stopped")
    return 0


def _listen(socket_path: str) -> socket.socket | None:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(socket_path)
        _log(f"another warm runner server already listens on {socket_path}")
        return None
    except OSError:
        pass
    finally:
        probe.close()
    if os.path.exists(socket_path):
        os.unlink(socket_path)  # stale socket of a server that died
    os.makedirs(os.path.dirname(os.path.abspath(socket_path)), exist_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)
    try:
        listener.bind(socket_path)
    finally:
        os.umask(old_umask)
    listener.listen(64)
    return listener


def _accept(listener: socket.socket, sel: selectors.BaseSelector) -> None:
    try:
        conn, _ = listener.accept()
    except OSError as exc:  # the client gave up between connect and accept
        _log(f"accept failed: {exc}")
        return
    try:
        _check_peer(conn)
        request, fds = _read_request(conn)
    except (OSError, ValueError) as exc:
        _log(f"refused a request: {exc}")
        conn.close()
        return
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        pid = os.fork()
    except OSError as exc:  # e.g. out of processes: this run fails, the server keeps serving
        _log(f"cannot fork a run: {exc}")
        for fd in fds:
            os.close(fd)
        conn.close()
        return
    if pid == 0:  # the child never returns
        _close_server_fds(listener, sel)
        _run_child(conn, fds, request)
    for fd in fds:
        os.close(fd)
    try:
        conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
    except OSError:
        pass  # the client is gone; the child notices the closed connection and stops
    pidfd = os.pidfd_open(pid)
    sel.register(pidfd, selectors.EVENT_READ, (conn, pid, time.monotonic()))


def _close_server_fds(listener: socket.socket, sel: selectors.BaseSelector) -> None:
    """A child keeps only its own connection: not the listener, other runs' connections or pidfds."""
    for key in list(sel.get_map().values()):
        if key.data is not None:
            key.data[0].close()
            os.close(key.fd)
    sel.close()
    listener.close()


def _check_peer(conn: socket.socket) -> None:
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _, uid, _ = struct.unpack("3i", creds)
    if uid != os.getuid():
        raise ValueError(f"peer uid {uid} is not this server's uid")


def _read_request(conn: socket.socket) -> tuple[dict, list[int]]:
    conn.settimeout(5)
    data, fds, _, _ = socket.recv_fds(conn, 65536, 3)
    if len(fds) != 3:
        for fd in fds:
            os.close(fd)
        raise ValueError("a request must carry stdin, stdout and stderr")
    while len(data) < 4 or len(data) < 4 + struct.unpack("!I", data[:4])[0]:
        if len(data) >= 4 and struct.unpack("!I", data[:4])[0] > MAX_REQUEST_BYTES:
            raise ValueError("request too large")
        chunk = conn.recv(65536)
        if not chunk:
            raise ValueError("incomplete request")
        data += chunk
    conn.settimeout(None)
    request = json.loads(data[4:4 + struct.unpack("!I", data[:4])[0]])
    if not isinstance(request.get("argv"), list) or not isinstance(request.get("env"), dict):
        raise ValueError("malformed request")
    return request, fds


def _run_child(conn: socket.socket, fds: list[int], request: dict) -> None:
    """In the forked child: become the requesting process's run, then exit with its code."""
    code = 1
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request.get("cwd") or "/")
        os.umask(int(request.get("umask", 0o022)))  # files the run creates get the requester's permissions
        os.environ.clear()
        os.environ.update({str(k): str(v) for k, v in request["env"].items()})
        time.tzset()  # the run's TZ, not the server's
        random.seed()
        threading.Thread(target=_die_with_client, args=(conn,), name="client-watch", daemon=True).start()
        from etl_runner.cli import main

        code = main([str(a) for a in request["argv"]])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - the child must always exit with a status, never return
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _die_with_client(conn: socket.socket) -> None:
    """The client sends nothing after its request: EOF means it died (or was killed), so the run stops."""
    try:
        while conn.recv(1):
            pass
    except OSError:
        pass
    os.kill(os.getpid(), signal.SIGKILL)


def _reap(key: selectors.SelectorKey, sel: selectors.BaseSelector) -> None:
    conn, pid, started = key.data
    sel.unregister(key.fileobj)
    os.close(key.fileobj)
    _, status, usage = os.wait4(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    _log(f"run process {pid} exited with {code} after {time.monotonic() - started:.2f} s, "
         f"peak RSS {usage.ru_maxrss // 1024} MB")
    try:
        conn.sendall(json.dumps({"exit": code, "pid": pid, "maxrss_kb": usage.ru_maxrss}).encode() + b"\n")
    except OSError:
        pass
    conn.close()


def _log(message: str) -> None:
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} etl_runner.warm_server: {message}", file=sys.stderr, flush=True)

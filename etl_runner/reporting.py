"""Reporters: where run updates go (the API, or JSON lines on stdout), plus the heartbeat thread."""

from __future__ import annotations

import json
import logging
import sys
import threading
from typing import TYPE_CHECKING, Any, Protocol, TextIO

if TYPE_CHECKING:  # the HTTP client (requests) is imported only in API mode
    from etl_runner.client import ApiClient

log = logging.getLogger("etl_runner.reporting")


class Reporter(Protocol):
    def update(self, payload: dict[str, Any]) -> None:
        """Send a run update shaped as in the contract (status, phase, progress, tables, error)."""
        ...

    def record_file(self, table_id: int, record: dict[str, Any]) -> None:
        """Mirror one processed file (path, size, generation, etag, modified_at, rows)."""
        ...


class StdoutReporter:
    """Writes one JSON object per line: {"event": "update", ...} or {"event": "processed_file", ...}."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stdout
        self._lock = threading.Lock()

    def _emit(self, obj: dict[str, Any]) -> None:
        with self._lock:
            self.stream.write(json.dumps(obj, default=str) + "\n")
            self.stream.flush()

    def update(self, payload: dict[str, Any]) -> None:
        self._emit({"event": "update", **payload})

    def record_file(self, table_id: int, record: dict[str, Any]) -> None:
        self._emit({"event": "processed_file", "table_id": table_id, **record})


class ApiReporter:
    """Reports through the API; a closed run (409) stops further updates instead of failing the load."""

    def __init__(self, client: ApiClient, run_id: int | str, data_source_id: int | str):
        self.client = client
        self.run_id = run_id
        self.data_source_id = data_source_id
        self.closed = False
        self._lock = threading.Lock()

    def update(self, payload: dict[str, Any]) -> None:
        from etl_runner.client import ApiError, RunClosed

        if self.closed:
            return
        with self._lock:
            try:
                self.client.run_update(self.run_id, payload)
            except RunClosed:
                log.warning("run %s is already closed on the platform; no further updates", self.run_id)
                self.closed = True
            except ApiError as exc:
                if payload.get("status") in ("completed", "partial", "failed"):
                    raise
                log.warning("run update not delivered: %s", exc)

    def record_file(self, table_id: int, record: dict[str, Any]) -> None:
        from etl_runner.client import ApiError

        try:
            self.client.record_processed_file(self.data_source_id, {"table_id": table_id, **record})
        except ApiError as exc:  # the warehouse ledger is the authority; the mirror is best effort
            log.warning("processed-file mirror not delivered for %s: %s", record.get("path"), exc)


class Heartbeat:
    """Background thread posting {"heartbeat": true, "phase", "progress"} every `interval` seconds."""

    def __init__(self, reporter: Reporter, interval: float):
        self.reporter = reporter
        self.interval = interval
        self.phase = "starting"
        self.progress: dict[str, int] = {"rows": 0, "bytes": 0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.reporter.update({"heartbeat": True, "phase": self.phase, "progress": dict(self.progress)})
            except Exception as exc:  # noqa: BLE001 - a lost heartbeat must not kill the run
                log.warning("heartbeat failed: %s", exc)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

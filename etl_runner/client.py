"""Every HTTP call the runner makes: timeouts, retries with exponential backoff, bearer token."""

from __future__ import annotations

import logging
import random
import time
from typing import Any

import requests

log = logging.getLogger("etl_runner.client")
TRANSIENT_STATUS = frozenset({429, 502, 503, 504})


class ApiError(Exception):
    """The API answered with an error (or never answered after all retries)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class RunClosed(ApiError):
    """The run is already finished on the Django side (409): nothing more will be accepted."""


class ApiClient:
    """Talks to the platform API for one run; the token is sent as a bearer header and never logged."""

    def __init__(self, base_url: str, token: str, *, timeout: tuple[float, float] = (5.0, 30.0),
                 retries: int = 5, backoff: float = 0.5, session: requests.Session | None = None):
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.session = session or requests.Session()

    def __repr__(self) -> str:
        return f"ApiClient({self.base_url!r}, token=***)"

    def request(self, method: str, path: str, json: dict | None = None, params: dict | None = None) -> dict[str, Any]:
        """One API call; transient failures (connection errors, 429/502/503/504) are retried with backoff."""
        url = f"{self.base_url}{path}"
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        for attempt in range(self.retries + 1):
            try:
                resp = self.session.request(method, url, json=json, params=params, headers=headers,
                                            timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if attempt == self.retries:
                    reason = type(exc).__name__
                    raise ApiError(f"{method} {path} failed after {attempt + 1} attempts: {reason}") from None
                self._sleep(attempt, None, f"{type(exc).__name__}")
                continue
            if resp.status_code in TRANSIENT_STATUS and attempt < self.retries:
                self._sleep(attempt, resp.headers.get("Retry-After"), f"HTTP {resp.status_code}")
                continue
            return self._parse(method, path, resp)
        raise ApiError(f"{method} {path} failed")  # pragma: no cover - loop always returns or raises

    def _sleep(self, attempt: int, retry_after: str | None, reason: str) -> None:
        delay = self.backoff * (2**attempt) * (0.5 + random.random())
        if retry_after and retry_after.isdigit():
            delay = max(delay, min(float(retry_after), 60.0))
        log.warning("API call failed (%s), retrying in %.1fs", reason, delay)
        time.sleep(delay)

    @staticmethod
    def _parse(method: str, path: str, resp: requests.Response) -> dict[str, Any]:
        try:
            body = resp.json()
        except ValueError:
            body = {}
        if resp.status_code == 409:
            raise RunClosed(body.get("message") or f"{method} {path}: run already finished", 409)
        if resp.status_code >= 400:
            message = body.get("message") if isinstance(body, dict) else None
            raise ApiError(f"{method} {path} answered {resp.status_code}: {message or resp.reason}", resp.status_code)
        return body if isinstance(body, dict) else {}

    def job_config(self, data_source_id: int | str) -> dict[str, Any]:
        """The run's job config (unvalidated dict)."""
        body = self.request("GET", f"/api/etl/job-config/{data_source_id}/")
        if "config" not in body:
            raise ApiError("job-config answer has no 'config'")
        return body["config"]

    def run_update(self, run_id: int | str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST a run update (status, phase, heartbeat, progress, tables, error)."""
        return self.request("POST", f"/api/etl/runs/{run_id}/update/", json=payload)

    def processed_files(self, data_source_id: int | str, table_id: int) -> list[dict[str, Any]]:
        """Django's mirror of the processed-file ledger for one table."""
        body = self.request("GET", f"/api/etl/sources/{data_source_id}/processed-files/", params={"table_id": table_id})
        return body.get("files", [])

    def record_processed_file(self, data_source_id: int | str, record: dict[str, Any]) -> dict[str, Any]:
        """Mirror one loaded file into Django's ledger."""
        return self.request("POST", f"/api/etl/sources/{data_source_id}/record-processed-file/", json=record)

"""Run launchers: start, cancel and observe the ETL runner for one run.

Local (default): `python -m etl_runner` as a subprocess in its own session, output to RUN_LOG_DIR/<run>.log
(handed to the warm runner server when RUNNER_WARM_SOCKET is set and it listens; same process contract).
Cloud Run Jobs: `JobsClient.run_job` with per-run container overrides; the execution name is the id.
"""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)
RUNNING, FINISHED, UNKNOWN = "running", "finished", "unknown"
# Parent environment the local runner may inherit; the web app's own secrets are never passed on.
_INHERITED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "PYTHONPATH", "SSL_CERT_FILE",
                  "REQUESTS_CA_BUNDLE", "STORAGE_EMULATOR_HOST", "GOOGLE_APPLICATION_CREDENTIALS")
_INHERITED_PREFIXES = ("RUNNER_", "GCSFS_")


@dataclass(frozen=True)
class LaunchResult:
    execution_id: str
    log_location: str = ""


class Launcher(Protocol):
    name: str

    def launch(self, *, run_id: int, data_source_id: int, token: str) -> LaunchResult:
        """Start the runner for one run; return once the backend has accepted it."""

    def cancel(self, execution_id: str) -> None:
        """Stop the execution (no-op when it already ended)."""

    def state(self, execution_id: str) -> str:
        """RUNNING, FINISHED or UNKNOWN."""


def runner_env(*, run_id: int, data_source_id: int, token: str) -> dict[str, str]:
    """The runner's environment contract (docs/internal-contracts.md)."""
    return {
        "RUNNER_API_URL": settings.PLATFORM_BASE_URL,
        "RUNNER_RUN_ID": str(run_id),
        "RUNNER_DATA_SOURCE_ID": str(data_source_id),
        "RUNNER_TOKEN": token,
    }


class LocalLauncher:
    """Subprocess runner: one process group per run, several runs at once."""

    name = "local"

    def launch(self, *, run_id: int, data_source_id: int, token: str) -> LaunchResult:
        """Start `python -m etl_runner` in its own session with output to the run's log file."""
        log_dir = Path(settings.RUN_LOG_DIR)
        log_dir.mkdir(parents=True, exist_ok=True)
        log_path = log_dir / f"{run_id}.log"
        env = {k: v for k, v in os.environ.items() if k in _INHERITED_ENV or k.startswith(_INHERITED_PREFIXES)}
        env.update(runner_env(run_id=run_id, data_source_id=data_source_id, token=token))
        if settings.RUNNER_WARM_SOCKET:  # pre-imported runner: ~0.3 s less per run (etl_runner/warm_server.py)
            env["RUNNER_WARM_SOCKET"] = settings.RUNNER_WARM_SOCKET
        with open(log_path, "ab") as log_file:
            proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                [sys.executable, "-m", "etl_runner"], cwd=settings.BASE_DIR, env=env, stdin=subprocess.DEVNULL,
                stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True, close_fds=True,
            )
        # Reap the child when it exits so it never lingers as a zombie of the web process.
        threading.Thread(target=proc.wait, name=f"runner-{run_id}-reaper", daemon=True).start()
        return LaunchResult(execution_id=f"local-{proc.pid}", log_location=str(log_path))

    def cancel(self, execution_id: str) -> None:
        """Terminate the runner's process group; kill it if it is still there after a grace period."""
        pid = _local_pid(execution_id)
        if pid is None or not _is_runner_process(pid):
            return
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _is_runner_process(pid):
            time.sleep(0.1)
        if _is_runner_process(pid):
            _signal_group(pid, signal.SIGKILL)

    def state(self, execution_id: str) -> str:
        """RUNNING while the runner process exists, FINISHED after."""
        pid = _local_pid(execution_id)
        if pid is None:
            return UNKNOWN
        return RUNNING if _is_runner_process(pid) else FINISHED


def _local_pid(execution_id: str) -> int | None:
    prefix, _, number = execution_id.partition("-")
    return int(number) if prefix == "local" and number.isdigit() else None


def _is_runner_process(pid: int) -> bool:
    """True when pid is a live (not zombie) etl_runner process; guards against a reused pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    state = stat.rsplit(")", 1)[-1].split()[0]
    return state not in ("Z", "X") and b"etl_runner" in cmdline


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        return


class CloudRunLauncher:
    """Cloud Run Jobs over REST: one execution per run, env passed as container overrides."""

    name = "cloud_run"

    def _client_kwargs(self) -> dict:
        endpoint = settings.GCP_API_ENDPOINTS.get("run") or ""
        if not endpoint:
            return {"transport": "rest"}
        from google.auth.credentials import AnonymousCredentials

        return {"transport": "rest", "credentials": AnonymousCredentials(),
                "client_options": {"api_endpoint": endpoint}}

    def job_name(self) -> str:
        return (f"projects/{settings.GCP_PROJECT_ID}/locations/{settings.GCP_REGION}"
                f"/jobs/{settings.CLOUD_RUN_JOB_NAME}")

    def launch(self, *, run_id: int, data_source_id: int, token: str) -> LaunchResult:
        """`run_job` with the run's env and one task; the execution name comes from the operation metadata."""
        from google.cloud import run_v2

        env = runner_env(run_id=run_id, data_source_id=data_source_id, token=token)
        overrides = run_v2.RunJobRequest.Overrides(
            container_overrides=[run_v2.RunJobRequest.Overrides.ContainerOverride(
                env=[run_v2.EnvVar(name=key, value=value) for key, value in env.items()])],
            task_count=1,
        )
        client = run_v2.JobsClient(**self._client_kwargs())
        operation = client.run_job(request=run_v2.RunJobRequest(name=self.job_name(), overrides=overrides))
        execution_name = operation.metadata.name if operation.metadata else ""
        if not execution_name:
            raise RuntimeError("Cloud Run accepted the job but returned no execution name.")
        return LaunchResult(execution_id=execution_name, log_location=cloud_logging_url(execution_name))

    def cancel(self, execution_id: str) -> None:
        """Ask Cloud Run to cancel the execution (does not wait for it to stop)."""
        from google.api_core import exceptions
        from google.cloud import run_v2

        try:
            run_v2.ExecutionsClient(**self._client_kwargs()).cancel_execution(name=execution_id)
        except (exceptions.NotFound, exceptions.FailedPrecondition):
            return

    def state(self, execution_id: str) -> str:
        """FINISHED once the execution has a completion time, RUNNING before."""
        from google.api_core import exceptions
        from google.cloud import run_v2

        try:
            execution = run_v2.ExecutionsClient(**self._client_kwargs()).get_execution(name=execution_id)
        except exceptions.NotFound:
            return FINISHED
        except exceptions.GoogleAPICallError:
            return UNKNOWN
        return FINISHED if execution.completion_time else RUNNING


def cloud_logging_url(execution_name: str) -> str:
    """Cloud Logging, filtered on one Cloud Run execution."""
    parts = execution_name.split("/")
    project = parts[1] if len(parts) > 1 else settings.GCP_PROJECT_ID
    query = ('resource.type="cloud_run_job" '
             f'labels."run.googleapis.com/execution_name"="{parts[-1]}"')
    return f"https://console.cloud.google.com/logs/query;query={quote(query, safe='')}?project={project}"


_BACKENDS = {"local": LocalLauncher, "cloud_run": CloudRunLauncher}


def get_launcher() -> Launcher:
    """The launcher chosen by settings.LAUNCHER_BACKEND."""
    backend = _BACKENDS.get(settings.LAUNCHER_BACKEND)
    if backend is None:
        raise ImproperlyConfigured(f"LAUNCHER_BACKEND must be one of {sorted(_BACKENDS)}")
    return backend()


def launcher_for(name: str) -> Launcher | None:
    """The launcher that started a run (by its recorded name); None for an unknown name."""
    backend = _BACKENDS.get(name or settings.LAUNCHER_BACKEND)
    return backend() if backend else None


def trigger_cloud_run_job(*, run_id: int, data_source_id: int, token: str) -> dict:
    """The seed's launch entry point: start the runner on the configured backend.

    Answers {"success": True, "execution_id", "log_location", "launcher"}; failures raise.
    """
    launcher = get_launcher()
    result = launcher.launch(run_id=run_id, data_source_id=data_source_id, token=token)
    return {"success": True, "execution_id": result.execution_id, "log_location": result.log_location,
            "launcher": launcher.name}

"""Launch backends: the real local subprocess runner, and Cloud Run Jobs against a REST fake."""
import time

import pytest

from ml_platform.utils import launcher
from tests.etl_runner.runner_util import running_warm_server
from tests.fakes.cloud_run import FakeCloudRun

JOB = "projects/test-proj/locations/us-central1/jobs/etl-runner"


@pytest.fixture
def local_settings(settings, tmp_path):
    settings.LAUNCHER_BACKEND = "local"
    settings.RUN_LOG_DIR = tmp_path / "logs"
    settings.PLATFORM_BASE_URL = "http://127.0.0.1:9"  # nothing listens: the runner retries, then gives up
    return settings


def _wait(predicate, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_local_launcher_starts_runner_in_own_session_and_logs_to_run_file(local_settings):
    backend = launcher.LocalLauncher()
    result = backend.launch(run_id=41, data_source_id=7, token="tok")
    pid = int(result.execution_id.removeprefix("local-"))
    try:
        assert result.log_location == str(local_settings.RUN_LOG_DIR / "41.log")
        assert backend.state(result.execution_id) == launcher.RUNNING
        import os

        assert os.getpgid(pid) == pid  # its own process group, so cancel can stop all of it
        environ = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
        assert b"RUNNER_RUN_ID=41" in environ and b"RUNNER_DATA_SOURCE_ID=7" in environ
        assert b"RUNNER_API_URL=http://127.0.0.1:9" in environ and b"RUNNER_TOKEN=tok" in environ
        assert not any(item.startswith(b"SECRET_KEY=") for item in environ)
    finally:
        backend.cancel(result.execution_id)


def test_local_launcher_cancel_terminates_the_process_group(local_settings):
    backend = launcher.LocalLauncher()
    first = backend.launch(run_id=1, data_source_id=1, token="a")
    second = backend.launch(run_id=2, data_source_id=1, token="b")
    backend.cancel(first.execution_id)
    assert backend.state(first.execution_id) == launcher.FINISHED
    assert backend.state(second.execution_id) == launcher.RUNNING  # several runs at once, each on its own
    backend.cancel(second.execution_id)
    assert backend.state(second.execution_id) == launcher.FINISHED


def test_local_launcher_output_goes_to_the_log_file(local_settings):
    backend = launcher.LocalLauncher()
    result = backend.launch(run_id=5, data_source_id=1, token="t")
    try:
        assert _wait(lambda: "job-config" in open(result.log_location).read() or
                     "API call failed" in open(result.log_location).read())
    finally:
        backend.cancel(result.execution_id)


def test_local_launcher_hands_runs_to_the_warm_runner_server(local_settings, tmp_path):
    with running_warm_server(tmp_path) as (sock, server_log):
        local_settings.RUNNER_WARM_SOCKET = str(sock)
        backend = launcher.LocalLauncher()
        result = backend.launch(run_id=6, data_source_id=1, token="t")
        try:
            # the forked child writes to the run's log file (its stdout/stderr were handed over)
            assert _wait(lambda: "API call failed" in open(result.log_location).read(), seconds=30)
            assert backend.state(result.execution_id) == launcher.RUNNING
        finally:
            backend.cancel(result.execution_id)
        assert backend.state(result.execution_id) == launcher.FINISHED
        assert _wait(lambda: "run process" in server_log.read_text())  # the server ran it, and it stopped


def test_local_state_of_unknown_execution_is_unknown_and_cancel_is_a_no_op():
    backend = launcher.LocalLauncher()
    assert backend.state("cloud-thing") == launcher.UNKNOWN
    backend.cancel("local-999999999")


@pytest.fixture
def cloud_run(settings):
    fake = FakeCloudRun()
    fake.add_job(JOB)
    settings.GCP_API_ENDPOINTS = {**settings.GCP_API_ENDPOINTS, "run": fake.start()}
    settings.GCP_PROJECT_ID, settings.GCP_REGION, settings.CLOUD_RUN_JOB_NAME = "test-proj", "us-central1", "etl-runner"
    settings.PLATFORM_BASE_URL = "https://platform.example"
    settings.LAUNCHER_BACKEND = "cloud_run"
    yield fake
    fake.stop()


def test_cloud_run_launch_sends_run_job_with_env_overrides_and_one_task(cloud_run):
    answer = launcher.trigger_cloud_run_job(run_id=12, data_source_id=3, token="secret-token")
    assert answer["success"] is True and answer["launcher"] == "cloud_run"
    assert answer["execution_id"] == f"{JOB}/executions/etl-runner-00001"
    assert "cloud_run_job" in answer["log_location"] and "etl-runner-00001" in answer["log_location"]
    request = cloud_run.requests[0]
    assert (request.method, request.path) == ("POST", f"/v2/{JOB}:run")
    assert request.query["$alt"] == ["json;enum-encoding=int"]
    assert request.body == {"overrides": {"containerOverrides": [{"env": [
        {"name": "RUNNER_API_URL", "value": "https://platform.example"},
        {"name": "RUNNER_RUN_ID", "value": "12"},
        {"name": "RUNNER_DATA_SOURCE_ID", "value": "3"},
        {"name": "RUNNER_TOKEN", "value": "secret-token"},
    ]}], "taskCount": 1}}


def test_cloud_run_state_follows_the_execution_and_cancel_cancels_it(cloud_run):
    backend = launcher.CloudRunLauncher()
    execution = backend.launch(run_id=1, data_source_id=1, token="t").execution_id
    assert backend.state(execution) == launcher.RUNNING
    backend.cancel(execution)
    assert cloud_run.requests[-1].path == f"/v2/{execution}:cancel"
    assert backend.state(execution) == launcher.FINISHED


def test_cloud_run_missing_job_raises_and_gone_execution_is_finished(cloud_run, settings):
    settings.CLOUD_RUN_JOB_NAME = "no-such-job"
    from google.api_core.exceptions import NotFound

    with pytest.raises(NotFound):
        launcher.CloudRunLauncher().launch(run_id=1, data_source_id=1, token="t")
    assert launcher.CloudRunLauncher().state(f"{JOB}/executions/gone") == launcher.FINISHED


def test_unknown_backend_is_refused(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.LAUNCHER_BACKEND = "kubernetes"
    with pytest.raises(ImproperlyConfigured):
        launcher.get_launcher()

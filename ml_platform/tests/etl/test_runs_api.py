"""Run APIs for the browser: start, status with log tail, cancel, run every job of a project."""
import pytest

from ml_platform.models import ETLRun, RunStatus
from ml_platform.tests.etl.conftest import call
from ml_platform.tests.factories import DataSourceFactory, ETLRunFactory

pytestmark = pytest.mark.django_db


def test_run_source_answers_run_and_execution_ids(owner_client, job, launches):
    response = call(owner_client, "api_etl_run_source", job.pk)
    body = response.json()
    assert response.status_code == 200 and body["status"] == "success"
    assert body["execution_id"] == f"fake-{body['run_id']}"
    run = ETLRun.objects.get(pk=body["run_id"])
    assert run.triggered_by.username == "owner" and run.status == RunStatus.RUNNING


def test_second_start_answers_409_with_active_run_id(owner_client, job, launches):
    first = call(owner_client, "api_etl_trigger_now", job.pk).json()["run_id"]
    response = call(owner_client, "api_etl_run_source", job.pk)
    assert response.status_code == 409 and response.json()["active_run_id"] == first


def test_run_options_are_validated(owner_client, job, launches):
    response = call(owner_client, "api_etl_run_source", job.pk, body={"tables": ["a"], "full_refresh": "maybe"})
    assert response.status_code == 400 and set(response.json()["errors"]) == {"tables.0", "full_refresh"}
    assert call(owner_client, "api_etl_run_source", job.pk, raw="not json").status_code == 400
    assert not ETLRun.objects.exists()


def test_run_status_returns_everything_with_log_tail(owner_client, job, settings):
    settings.RUN_LOG_DIR.mkdir(parents=True)
    log = settings.RUN_LOG_DIR / "run.log"
    log.write_text("x" * 20000 + "loaded 10 rows\n")
    run = ETLRunFactory(data_source=job, status=RunStatus.FAILED, total_rows_extracted=10, error_type="SourceError",
                        error_message="boom", log_location=str(log), table_results=[{"table_id": 1}])
    body = call(owner_client, "api_etl_run_status", run.pk, method="get").json()
    assert (body["status"], body["total_rows_extracted"], body["error_type"]) == ("failed", 10, "SourceError")
    assert body["log_tail"].endswith("loaded 10 rows\n") and len(body["log_tail"]) <= 16 * 1024
    assert body["tables"] == [{"table_id": 1}] and body["run"]["id"] == run.pk


def test_run_status_never_reads_files_outside_the_log_folder(owner_client, job):
    run = ETLRunFactory(data_source=job, log_location="/etc/passwd")
    assert call(owner_client, "api_etl_run_status", run.pk, method="get").json()["log_tail"] == ""


def test_cancel_marks_run_cancelled_then_409(owner_client, job, launches):
    run_id = call(owner_client, "api_etl_run_source", job.pk).json()["run_id"]
    response = call(owner_client, "api_etl_run_cancel", run_id)
    assert response.json()["run_status"] == "cancelled"
    assert call(owner_client, "api_etl_run_cancel", run_id).status_code == 409
    assert call(owner_client, "api_etl_run_source", job.pk).status_code == 200  # the lock is released


def test_run_endpoints_hide_other_users_runs_and_refuse_anonymous(client, other_client, job):
    run = ETLRunFactory(data_source=job, status=RunStatus.RUNNING)
    for name, method in [("api_etl_run_status", "get"), ("api_etl_run_cancel", "post")]:
        assert call(other_client, name, run.pk, method=method).status_code == 404
        assert call(client, name, run.pk, method=method).status_code == 401
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING


def test_run_now_starts_every_unpaused_job(owner_client, project, job, connection, launches):
    DataSourceFactory(etl_config=project.etl_config, connection=connection, is_paused=True)
    body = call(owner_client, "api_etl_run_now", project.pk).json()
    assert [r["job_id"] for r in body["runs"]] == [job.pk] and len(launches) == 1


def test_start_etl_main_route_uses_the_same_service(owner_client, project, job, launches):
    body = call(owner_client, "api_start_etl", project.pk).json()
    assert body["status"] == "success" and body["runs"][0]["job_id"] == job.pk

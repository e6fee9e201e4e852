"""The runner's endpoints: bearer run token only, one run's config and state, nothing after the run ends."""
import time

import pytest
from django.core import signing
from django.urls import reverse

from ml_platform.etl import tokens
from ml_platform.models import ProcessedFile, RunStatus
from ml_platform.tests.factories import ETLRunFactory
from ml_platform.utils.errors import Unauthorized

pytestmark = pytest.mark.django_db


def _auth(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def _post(client, name, arg, body, token):
    return client.post(reverse(name, args=[arg]), data=body, content_type="application/json", **_auth(token))


def test_token_names_run_and_job_and_rejects_tampering(active_run):
    token = tokens.run_token_mint(active_run)
    assert tokens.run_token_verify(token) == (active_run.pk, active_run.data_source_id)
    with pytest.raises(Unauthorized):
        tokens.run_token_verify(token[:-2] + "xx")
    with pytest.raises(Unauthorized):
        tokens.run_token_verify(signing.dumps({"run": active_run.pk, "job": 1}, salt="other"))


def test_expired_token_is_refused(active_run, settings):
    token = tokens.run_token_mint(active_run)
    settings.RUN_TOKEN_MAX_AGE_SECONDS = -1
    time.sleep(0.01)
    with pytest.raises(Unauthorized) as exc:
        tokens.run_token_verify(token)
    assert exc.value.code == "token_expired"


def test_job_config_answers_the_runs_token_with_the_config(client, job, active_run, run_token):
    response = client.get(reverse("api_etl_job_config", args=[job.pk]), **_auth(run_token))
    assert response.status_code == 200
    config = response.json()["config"]
    assert config["run_id"] == active_run.pk and config["job"]["id"] == job.pk


@pytest.mark.parametrize("header", [None, "Bearer", "Basic abc", "Bearer not-a-token"])
def test_job_config_without_a_valid_token_is_401(client, job, active_run, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.get(reverse("api_etl_job_config", args=[job.pk]), **extra)
    assert response.status_code == 401 and "config" not in response.json()


def test_session_login_does_not_open_the_runner_api(owner_client, job, active_run):
    assert owner_client.get(reverse("api_etl_job_config", args=[job.pk])).status_code == 401


def test_token_of_another_job_is_403(client, job, active_run):
    stranger = ETLRunFactory(status=RunStatus.RUNNING)
    response = client.get(reverse("api_etl_job_config", args=[job.pk]), **_auth(tokens.run_token_mint(stranger)))
    assert response.status_code == 403
    update = _post(client, "api_etl_run_update", active_run.pk, {"heartbeat": True}, tokens.run_token_mint(stranger))
    assert update.status_code == 403


def test_finished_run_cannot_fetch_config(client, job, active_run, run_token):
    active_run.status = RunStatus.COMPLETED
    active_run.save()
    assert client.get(reverse("api_etl_job_config", args=[job.pk]), **_auth(run_token)).status_code == 409


def test_unbuildable_config_fails_the_run_with_the_reason(client, job, active_run, run_token):
    job.tables.all().delete()
    response = client.get(reverse("api_etl_job_config", args=[job.pk]), **_auth(run_token))
    assert response.status_code == 400
    active_run.refresh_from_db()
    assert active_run.status == RunStatus.FAILED and "no enabled tables" in active_run.error_message


def test_run_update_then_late_update_is_409(client, job, active_run, run_token):
    table = job.tables.get()
    assert _post(client, "api_etl_run_update", active_run.pk, {"phase": "extract", "heartbeat": True,
                                                               "progress": {"rows": 5, "bytes": 50}},
                 run_token).json() == {"status": "success", "run_status": "running"}
    final = {"status": "completed", "tables": [{"table_id": table.pk, "status": "completed", "rows_read": 5,
                                                "rows_loaded": 5, "cursor_after": "7"}]}
    assert _post(client, "api_etl_run_update", active_run.pk, final, run_token).json()["run_status"] == "completed"
    late = _post(client, "api_etl_run_update", active_run.pk, final, run_token)
    assert late.status_code == 409
    table.refresh_from_db()
    assert table.cursor_value == "7"


def test_run_update_with_bad_body_is_400_with_field_errors(client, active_run, run_token):
    response = _post(client, "api_etl_run_update", active_run.pk, {"status": "exploded", "bogus": 1}, run_token)
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"status", "bogus"}
    assert _post(client, "api_etl_run_update", active_run.pk, "[1,", run_token).status_code == 400


def test_processed_files_round_trip(client, job, active_run, run_token):
    table = job.tables.get()
    record = {"table_id": table.pk, "path": "in/a.csv", "size": 10, "generation": "3", "etag": "e",
              "modified_at": "2024-01-01T00:00:00Z", "rows": 4}
    assert _post(client, "api_etl_record_processed_file", job.pk, record, run_token).status_code == 200
    response = client.get(reverse("api_etl_get_processed_files", args=[job.pk]), {"table_id": table.pk},
                          **_auth(run_token))
    files = response.json()["files"]
    assert [(f["path"], f["rows"], f["run_id"]) for f in files] == [("in/a.csv", 4, active_run.pk)]
    assert ProcessedFile.objects.count() == 1


def test_processed_file_for_another_jobs_table_is_400(client, job, run_token):
    other_table = ETLRunFactory().data_source.tables.create(dest_table_name="x")
    record = {"table_id": other_table.pk, "path": "a.csv"}
    assert _post(client, "api_etl_record_processed_file", job.pk, record, run_token).status_code == 400


def test_runner_endpoints_are_csrf_exempt(job, active_run, run_token):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    assert _post(client, "api_etl_run_update", active_run.pk, {"heartbeat": True}, run_token).status_code == 200


def test_processed_file_record_as_the_runner_sends_it_for_unversioned_local_files(client, job, active_run, run_token):
    from etl_runner.extract.base import FileInfo
    from etl_runner.load.base import ProcessedFile as RunnerProcessedFile

    table = job.tables.get()
    info = FileInfo(path="/data/in/a.csv", size=10, modified_at="2024-01-01T00:00:00+00:00")
    record = {"table_id": table.pk, **RunnerProcessedFile(file=info, rows=4).to_dict()}
    assert _post(client, "api_etl_record_processed_file", job.pk, record, run_token).status_code == 200
    changed = {**record, "size": 12, "modified_at": "2024-01-02T00:00:00+00:00", "rows": 5}
    assert _post(client, "api_etl_record_processed_file", job.pk, changed, run_token).status_code == 200
    versions = ProcessedFile.objects.filter(file_path="/data/in/a.csv").values_list("generation", "rows_loaded")
    assert sorted(versions) == [("10@2024-01-01T00:00:00+00:00", 4), ("12@2024-01-02T00:00:00+00:00", 5)]

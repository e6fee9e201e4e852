"""No input makes an ETL endpoint answer 500: garbage bodies, wrong types, huge numbers, wrong methods."""
import pytest
from django.test import Client
from django.urls import reverse

from ml_platform.tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

GARBAGE = ["", "{", "[]", '"text"', "null", "123", '{"name": null}', '{"name": 5, "tables": "x"}',
           '{"connection_id": 99999999999999999999999, "tables": [{}]}', '{"tables": [null], "enabled": []}',
           '{"model_id": "1", "columns": [{}], "dest_table_name": "../x"}', '{"status": "completed", "tables": [1]}',
           '{"schedule_config": "daily", "name": "x", "connection_id": 1, "tables": [{"dest_table_name": "t"}]}']


def _routes(project, job, run) -> list[tuple[str, list]]:
    return [
        ("api_etl_add_source", [project.pk]), ("api_etl_save_draft_source", [project.pk]),
        ("api_etl_check_job_name", [project.pk]), ("api_etl_toggle_enabled", [project.pk]),
        ("api_etl_run_now", [project.pk]), ("api_etl_get_connections", [project.pk]),
        ("api_etl_create_job", [project.pk]), ("api_etl_get_source", [job.pk]),
        ("api_etl_update_source", [job.pk]), ("api_etl_test_connection", [job.pk]),
        ("api_etl_run_source", [job.pk]), ("api_etl_toggle_pause", [job.pk]), ("api_etl_edit_source", [job.pk]),
        ("api_etl_available_columns", [job.pk]), ("api_etl_run_status", [run.pk]), ("api_etl_run_update", [run.pk]),
        ("api_etl_run_cancel", [run.pk]), ("api_etl_job_config", [job.pk]), ("api_etl_trigger_now", [job.pk]),
        ("api_etl_get_processed_files", [job.pk]), ("api_etl_record_processed_file", [job.pk]),
        ("api_etl_test_connection_wizard", []), ("api_etl_list_bq_tables", ["raw-data"]),
        ("api_etl_validate_schema_compatibility", []), ("api_etl_delete_source", [job.pk]),
    ]


def test_garbage_never_causes_a_server_error(owner, project, job, active_run, launches):
    client = Client(raise_request_exception=False)
    client.login(username=owner.username, password=DEFAULT_PASSWORD)
    for name, args in _routes(project, job, active_run):
        url = reverse(name, args=args)
        for body in GARBAGE:
            for method in ("post", "get", "put"):
                response = getattr(client, method)(url, data=body, content_type="application/json") \
                    if method != "get" else client.get(url, {"table_id": body[:5], "model_id": body[:5]})
                assert response.status_code < 500, (name, method, body, response.content[:300])

"""Job APIs: create (validated against the live source), add, read, edit, pause, enable, delete, names."""
import pytest

from ml_platform.models import DataSource, DataSourceTable, ETLRun, RunStatus
from ml_platform.tests.etl.conftest import call
from ml_platform.tests.factories import ETLRunFactory, ProjectFactory
from ml_platform.utils.warehouse import Column, DuckDBWarehouse

pytestmark = pytest.mark.django_db


def _job_body(connection_id: int, **table) -> dict:
    return {"name": "orders sync", "connection_id": connection_id, "tables": [{
        "schema_name": "public", "source_table_name": "orders", "dest_table_name": "orders", "sync_mode": "merge",
        "incremental_column": "updated_at", "primary_key": ["id"], **table}],
        "schedule_config": {"schedule_type": "daily", "schedule_time": "06:30", "schedule_timezone": "Europe/Paris"}}


def _dest_columns(settings, project, table="orders") -> dict:
    columns = DuckDBWarehouse(settings.WAREHOUSE_DUCKDB_PATH).table_columns(f"p{project.pk}_raw_data", table)
    return {c["name"]: c["type"] for c in columns or []}


def test_create_job_validates_source_then_creates_job_tables_destination_and_schedule(
        owner_client, project, pg_connection, settings):
    response = call(owner_client, "api_etl_create_job", project.pk,
                    body=_job_body(pg_connection.pk, selected_columns=["customer"]))
    assert response.status_code == 200, response.json()
    body = response.json()
    job = DataSource.objects.get(pk=body["job_id"])
    assert body["job_name"] == "orders sync" and body["tables"][0]["dest_table_name"] == "orders"
    assert body["schedule"]["schedule_type"] == "daily" and job.schedule_timezone == "Europe/Paris"
    assert job.tables.get().selected_columns == ["customer", "updated_at", "id"]
    assert _dest_columns(settings, project) == {"id": "INTEGER", "customer": "VARCHAR",
                                                "updated_at": "TIMESTAMP WITH TIME ZONE"}


def test_create_job_reports_every_problem_and_creates_nothing(owner_client, project, pg_connection):
    body = _job_body(pg_connection.pk, selected_columns=["nope"], primary_key=["missing"],
                     incremental_column="customer")
    body["tables"].append({"source_table_name": "ghost", "dest_table_name": "ghost"})
    response = call(owner_client, "api_etl_create_job", project.pk, body=body)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert {"tables.0.selected_columns", "tables.0.primary_key", "tables.0.incremental_column",
            "tables.1.source_table_name"} <= set(errors)
    assert not DataSource.objects.exists()


@pytest.mark.parametrize("table, field", [
    ({"sync_mode": "merge", "primary_key": []}, "tables.0"),
    ({"sync_mode": "incremental", "primary_key": [], "lookback_seconds": 600}, "tables.0"),
    ({"dest_table_name": "bad name;drop"}, "tables.0.dest_table_name"),
    ({"sync_mode": "upsert"}, "tables.0.sync_mode"),
    ({"unknown_key": 1}, "tables.0.unknown_key"),
])
def test_create_job_structure_errors_are_400_with_field_errors(owner_client, project, pg_connection, table, field):
    response = call(owner_client, "api_etl_create_job", project.pk, body=_job_body(pg_connection.pk, **table))
    assert response.status_code == 400 and field in response.json()["errors"]


def test_create_job_with_bad_schedule_or_foreign_connection_is_400(owner_client, project, pg_connection):
    body = _job_body(pg_connection.pk)
    body["schedule_config"] = {"schedule_type": "cron", "cron": "61 * * * *"}
    response = call(owner_client, "api_etl_create_job", project.pk, body=body)
    assert response.status_code == 400 and any(k.startswith("schedule_config") for k in response.json()["errors"])
    other = ProjectFactory()
    from ml_platform.tests.factories import ConnectionFactory

    foreign = ConnectionFactory(model_endpoint=other)
    response = call(owner_client, "api_etl_create_job", project.pk, body=_job_body(foreign.pk))
    assert response.status_code == 400 and "connection_id" in response.json()["errors"]


def test_create_job_rejects_incompatible_existing_destination(owner_client, project, pg_connection, settings):
    DuckDBWarehouse(settings.WAREHOUSE_DUCKDB_PATH).create_table(
        f"p{project.pk}_raw_data", "orders", [Column("id", "BOOL"), Column("customer", "STRING")])
    body = _job_body(pg_connection.pk, destination={"mode": "existing"})
    response = call(owner_client, "api_etl_create_job", project.pk, body=body)
    assert response.status_code == 400 and "tables.0.destination" in response.json()["errors"]


def test_create_job_run_now_starts_a_run(owner_client, project, pg_connection, launches):
    body = {**_job_body(pg_connection.pk), "run_now": True}
    response = call(owner_client, "api_etl_create_job", project.pk, body=body)
    assert response.status_code == 200
    run = ETLRun.objects.get(pk=response.json()["run_id"])
    assert run.trigger == "after_create" and run.status == RunStatus.RUNNING


def test_add_source_checks_structure_only_and_answers_source_id(owner_client, project, connection):
    body = {"name": "quick", "connection_id": connection.pk, "tables": [
        {"source_table_name": "users", "dest_table_name": "raw_users", "dest_dataset": "raw_data",
         "sync_mode": "replace"}]}
    response = call(owner_client, "api_etl_add_source", project.pk, body=body)
    assert response.status_code == 200
    assert DataSource.objects.get(pk=response.json()["source_id"]).tables.count() == 1
    again = call(owner_client, "api_etl_save_draft_source", project.pk, body=body)
    assert again.status_code == 400 and "name" in again.json()["errors"]


def test_job_endpoints_hide_other_users_jobs_and_refuse_anonymous(client, other_client, project, job, launches):
    for name, method in [("api_etl_get_source", "get"), ("api_etl_edit_source", "post"),
                         ("api_etl_update_source", "post"), ("api_etl_delete_source", "post"),
                         ("api_etl_toggle_pause", "post"), ("api_etl_available_columns", "get"),
                         ("api_etl_run_source", "post"), ("api_etl_trigger_now", "post"),
                         ("api_etl_test_connection", "post")]:
        assert call(other_client, name, job.pk, method=method).status_code == 404, name
        assert call(client, name, job.pk, method=method).status_code == 401, name
    for name, method in [("api_etl_add_source", "post"), ("api_etl_create_job", "post"),
                         ("api_etl_check_job_name", "post"), ("api_etl_toggle_enabled", "post"),
                         ("api_etl_run_now", "post"), ("api_etl_get_connections", "get")]:
        body = {"name": "x", "enabled": True, "connection_id": 1,
                "tables": [{"source_table_name": "t", "dest_table_name": "t"}]}
        assert call(other_client, name, project.pk, method=method, body=body).status_code == 404, name
        assert call(client, name, project.pk, method=method, body=body).status_code == 401, name
    assert DataSource.objects.count() == 1 and not ETLRun.objects.exists()


def test_get_source_returns_job_without_secrets(owner_client, job):
    response = call(owner_client, "api_etl_get_source", job.pk, method="get")
    source = response.json()["source"]
    assert source["name"] == "orders sync" and source["tables"][0]["sync_mode"] == "merge"
    assert "schedule" in source and "password" not in response.content.decode()


def test_edit_source_adds_new_columns_to_destination_and_never_drops(
        owner_client, project, pg_connection, settings):
    created = call(owner_client, "api_etl_create_job", project.pk,
                   body=_job_body(pg_connection.pk, selected_columns=["customer"])).json()
    table_id = created["tables"][0]["id"]
    edit = {"name": "orders v2", "tables": [{"id": table_id, "source_table_name": "orders", "schema_name": "public",
                                             "dest_table_name": "orders", "sync_mode": "merge",
                                             "incremental_column": "updated_at", "primary_key": ["id"],
                                             "selected_columns": ["amount", "note"]}]}
    response = call(owner_client, "api_etl_edit_source", created["job_id"], body=edit)
    assert response.status_code == 200, response.json()
    columns = _dest_columns(settings, project)
    assert columns["amount"] == "DECIMAL(10,2)" and columns["note"] == "JSON" and "customer" in columns
    assert DataSourceTable.objects.get(pk=table_id).selected_columns == ["amount", "note", "updated_at", "id"]
    assert response.json()["source"]["name"] == "orders v2"


def test_edit_source_removes_and_adds_tables_and_rejects_unknown_ids(owner_client, job):
    table = job.tables.get()
    response = call(owner_client, "api_etl_update_source", job.pk, body={"remove_table_ids": [table.pk + 99]})
    assert response.status_code == 400
    response = call(owner_client, "api_etl_update_source", job.pk, body={"remove_table_ids": [table.pk]})
    assert response.status_code == 200 and not job.tables.exists()


def test_toggle_pause_and_enabled(owner_client, project, job):
    assert call(owner_client, "api_etl_toggle_pause", job.pk).json()["is_paused"] is True
    assert call(owner_client, "api_etl_toggle_pause", job.pk, body={"paused": False}).json()["is_paused"] is False
    response = call(owner_client, "api_etl_toggle_enabled", project.pk, body={"enabled": False})
    assert response.json()["is_enabled"] is False
    assert call(owner_client, "api_etl_toggle_enabled", project.pk, body={"enabled": "maybe"}).status_code == 400


def test_delete_source_keeps_run_history_unless_asked(owner_client, project, job, connection):
    run = ETLRunFactory(data_source=job)
    assert call(owner_client, "api_etl_delete_source", job.pk).status_code == 200
    run.refresh_from_db()
    assert run.data_source is None and not DataSource.objects.exists()
    from ml_platform.tests.factories import DataSourceFactory

    second = DataSourceFactory(etl_config=project.etl_config, connection=connection)
    ETLRunFactory(data_source=second)
    assert call(owner_client, "api_etl_delete_source", second.pk, body={"delete_runs": True}).status_code == 200
    assert ETLRun.objects.count() == 1


def test_delete_source_with_active_run_is_409(owner_client, job):
    ETLRunFactory(data_source=job, status=RunStatus.RUNNING)
    assert call(owner_client, "api_etl_delete_source", job.pk).status_code == 409


def test_check_job_name(owner_client, project, job):
    taken = call(owner_client, "api_etl_check_job_name", project.pk, body={"name": "ORDERS SYNC"}).json()
    free = call(owner_client, "api_etl_check_job_name", project.pk, body={"name": "new"}).json()
    assert (taken["available"], free["available"]) == (False, True)
    assert call(owner_client, "api_etl_check_job_name", project.pk, raw="{").status_code == 400


def test_available_columns_lists_source_columns_with_selection(owner_client, project, pg_connection):
    created = call(owner_client, "api_etl_create_job", project.pk,
                   body=_job_body(pg_connection.pk, selected_columns=["customer"])).json()
    response = call(owner_client, "api_etl_available_columns", created["job_id"], method="get")
    columns = {c["name"]: c["selected"] for c in response.json()["columns"]}
    assert columns == {"id": True, "customer": True, "amount": False, "updated_at": True, "note": False}
    assert call(owner_client, "api_etl_available_columns", created["job_id"], method="get",
                query={"table_id": "x"}).status_code == 400


def test_get_connections_lists_project_connections_without_secrets(owner_client, project, connection):
    response = call(owner_client, "api_etl_get_connections", project.pk, method="get")
    assert [c["name"] for c in response.json()["connections"]] == ["warehouse db"]


def test_datasets_and_schema_compatibility_are_scoped_to_the_project(owner_client, other_client, project, settings):
    DuckDBWarehouse(settings.WAREHOUSE_DUCKDB_PATH).create_table(
        f"p{project.pk}_raw_data", "orders", [Column("id", "INT64"), Column("name", "STRING")])
    response = call(owner_client, "api_etl_list_bq_tables", "raw_data", method="get", query={"model_id": project.pk})
    assert [t["name"] for t in response.json()["tables"]] == ["orders"]
    assert call(other_client, "api_etl_list_bq_tables", "raw_data", method="get",
                query={"model_id": project.pk}).status_code == 404
    body = {"model_id": project.pk, "dest_table_name": "orders",
            "columns": [{"name": "id", "type": "NUMERIC"}, {"name": "extra", "type": "STRING"},
                        {"name": "name", "type": "INT64"}]}
    report = call(owner_client, "api_etl_validate_schema_compatibility", body=body).json()
    assert report["columns_to_add"] == [{"name": "extra", "type": "STRING"}]
    assert [(m["name"], m["action"]) for m in report["type_mismatches"]] == [("id", "widen"), ("name", "blocked")]
    assert report["compatible"] is False and report["missing_columns"] == []
    assert call(other_client, "api_etl_validate_schema_compatibility", body=body).status_code == 404
    assert call(owner_client, "api_etl_validate_schema_compatibility", body={"model_id": project.pk}).status_code == 400


"""Connection API contract: shapes, validation, duplicates, usage/delete, masking and tenancy on all 17 routes."""
import pytest
from django.test import Client
from django.urls import reverse

from ml_platform.models import Connection, EncryptedSecret
from ml_platform.tests.connections.conftest import call, create_connection
from ml_platform.tests.factories import DataSourceFactory

pytestmark = pytest.mark.django_db

PROJECT_ROUTES = [("api_connection_test_wizard", "post"), ("api_connection_create", "post"),
                  ("api_connection_create_standalone", "post"), ("api_connection_list", "get")]
CONNECTION_ROUTES = [
    ("api_connection_get", "get"), ("api_connection_get_credentials", "get"), ("api_connection_test", "post"),
    ("api_connection_test_and_fetch_tables", "post"), ("api_connection_update", "post"),
    ("api_connection_get_usage", "get"), ("api_connection_delete", "post"),
    ("api_connection_fetch_schemas", "get"), ("api_connection_fetch_tables_for_schema", "get"),
    ("api_connection_fetch_table_preview", "get"), ("api_connection_list_files", "get"),
    ("api_connection_detect_file_schema", "get"), ("api_etl_test_connection_in_wizard", "post"),
]
PG = {"name": "Orders", "source_type": "postgresql", "host": "db.example.internal", "port": 5432,
      "database": "shop", "username": "etl", "password": "pw-123456"}


@pytest.fixture
def connection(owner_client, project):
    return Connection.objects.get(pk=create_connection(owner_client, project, **PG))


def test_all_17_routes_have_the_seed_paths():
    assert reverse("api_connection_list", args=[1]) == "/api/models/1/connections/"
    assert reverse("api_etl_test_connection_in_wizard", args=[2]) == "/api/connections/2/test-wizard/"
    assert reverse("api_connection_fetch_table_preview", args=[2]) == "/api/connections/2/fetch-table-preview/"
    assert len(PROJECT_ROUTES) + len(CONNECTION_ROUTES) == 17


@pytest.mark.parametrize("name,method", PROJECT_ROUTES)
def test_project_routes_hide_other_users_projects_and_need_login(name, method, project, other_client):
    assert call(other_client, name, project.id, method=method, body=PG).status_code == 404
    assert call(Client(), name, project.id, method=method, body=PG).status_code == 401


@pytest.mark.parametrize("name,method", CONNECTION_ROUTES)
def test_connection_routes_hide_other_users_connections_and_need_login(name, method, connection, other_client):
    assert call(other_client, name, connection.id, method=method).status_code == 404
    assert call(Client(), name, connection.id, method=method).status_code == 401
    assert Connection.objects.filter(pk=connection.id).exists()


def test_create_answers_the_original_shape(owner_client, project):
    response = call(owner_client, "api_connection_create_standalone", project.id, body=PG)
    data = response.json()
    assert data["status"] == "success"
    assert data["connection_name"] == "Orders"
    assert Connection.objects.get(pk=data["connection_id"]).model_endpoint == project


def test_list_and_get_mask_secrets(owner_client, project, connection):
    listed = call(owner_client, "api_connection_list", project.id, method="get").json()
    assert listed["status"] == "success"
    item = listed["connections"][0]
    assert item["password"] == "********" and item["has_password"] is True
    got = call(owner_client, "api_connection_get", connection.id, method="get").json()["connection"]
    assert got["host"] == "db.example.internal" and got["jobs_count"] == 0
    credentials = call(owner_client, "api_connection_get_credentials", connection.id, method="get").json()
    assert credentials["credentials"]["has_password"] is True
    assert "pw-123456" not in str(listed) + str(got) + str(credentials)


@pytest.mark.parametrize("body,field", [
    ({**PG, "colour": "red"}, "colour"),
    ({**PG, "port": 70000}, "port"),
    ({**PG, "port": "abc"}, "port"),
    ({**PG, "host": ""}, "host"),
    ({**PG, "host": "http://x/y"}, "host"),
    ({**PG, "name": ""}, "name"),
    ({**PG, "source_type": "oracle"}, "source_type"),
    ({**PG, "sslmode": "sometimes"}, "sslmode"),
    ({"name": "b", "source_type": "s3", "bucket_path": "gs://x"}, "bucket_path"),
    ({"name": "b", "source_type": "s3", "bucket_path": "s3://UPPER"}, "bucket_path"),
    ({"name": "b", "source_type": "bigquery", "project_id": "p-123", "service_account_json": "[]"},
     "service_account_json"),
    ({"name": "b", "source_type": "bigquery"}, "project_id"),
])
def test_bad_input_is_a_400_with_field_errors_and_saves_nothing(owner_client, project, body, field):
    response = call(owner_client, "api_connection_create", project.id, body=body)
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]
    assert not Connection.objects.exists() and not EncryptedSecret.objects.exists()


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", '"text"'])
def test_malformed_bodies_are_400(owner_client, project, raw):
    url = reverse("api_connection_create", args=[project.id])
    assert owner_client.post(url, data=raw, content_type="application/json").status_code == 400


def test_same_name_in_project_is_a_400(owner_client, project, connection):
    response = call(owner_client, "api_connection_create", project.id, body=PG)
    assert response.status_code == 400
    assert "name" in response.json()["errors"]


def test_wizard_names_an_existing_connection_to_the_same_source(owner_client, project, connection):
    body = {**PG, "name": "Other name", "host": "127.0.0.1", "port": 1}
    call(owner_client, "api_connection_update", connection.id, body={"host": "127.0.0.1", "port": 1})
    data = call(owner_client, "api_connection_test_wizard", project.id, body=body).json()
    assert data["status"] == "failed"
    assert data["duplicate"] == {"connection_id": connection.id, "connection_name": "Orders"}
    assert "Orders" in data["message"]


def test_update_renames_keeps_secret_and_refuses_type_change(owner_client, connection):
    response = call(owner_client, "api_connection_update", connection.id, body={"name": "Renamed", "password": ""})
    assert response.json()["connection"]["has_password"] is True
    assert response.json()["connection_name"] == "Renamed"
    response = call(owner_client, "api_connection_update", connection.id, body={"source_type": "mysql"})
    assert response.status_code == 400
    response = call(owner_client, "api_connection_update", connection.id, body={"unknown": 1})
    assert response.status_code == 400


def test_usage_lists_jobs_and_delete_refuses_until_they_are_gone(owner_client, project, connection):
    job = DataSourceFactory(etl_config=project.etl_config, connection=connection, name="Daily")
    usage = call(owner_client, "api_connection_get_usage", connection.id, method="get").json()
    assert usage["jobs"] == [{"id": job.id, "name": "Daily", "is_paused": False}]
    refused = call(owner_client, "api_connection_delete", connection.id)
    assert refused.status_code == 409
    assert refused.json()["jobs"][0]["id"] == job.id
    job.delete()
    assert call(owner_client, "api_connection_delete", connection.id).status_code == 200
    assert not Connection.objects.exists() and not EncryptedSecret.objects.exists()


def test_wrong_methods_are_405(owner_client, project, connection):
    assert owner_client.get(reverse("api_connection_create", args=[project.id])).status_code == 405
    assert owner_client.get(reverse("api_connection_delete", args=[connection.id])).status_code == 405


def test_browse_parameters_are_validated(owner_client, connection):
    response = call(owner_client, "api_connection_list_files", connection.id, method="get", query={"page": "0"})
    assert response.status_code == 400
    response = call(owner_client, "api_connection_fetch_table_preview", connection.id, body={"bogus": 1})
    assert response.status_code == 400


def test_unreachable_source_on_browse_is_a_readable_502(owner_client, connection):
    call(owner_client, "api_connection_update", connection.id, body={"host": "127.0.0.1", "port": 1})
    response = call(owner_client, "api_connection_fetch_schemas", connection.id, method="get")
    assert response.status_code == 502
    assert response.json()["message"].startswith("Host unreachable")


FIELD_NAMES = ["name", "source_type", "description", "host", "port", "database", "schema", "username", "password",
               "sslmode", "path", "bucket_path", "service_account_json", "aws_access_key_id",
               "aws_secret_access_key", "aws_region", "endpoint_url", "azure_storage_account", "azure_account_key",
               "azure_sas_token", "connection_string", "project_id", "dataset", "extra"]


def _json_values():
    from hypothesis import strategies as st

    scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30),
                        st.sampled_from(["postgresql", "s3", "azure_blob", "gs://b", "s3://b/p", "/tmp/x", "{}"]))
    return st.one_of(scalars, st.lists(scalars, max_size=3), st.dictionaries(st.text(max_size=5), scalars,
                                                                             max_size=2))


def test_no_input_makes_create_or_update_fail_with_a_500(owner_client, project, connection):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    bodies = st.dictionaries(st.sampled_from(FIELD_NAMES), _json_values(), max_size=8)

    @settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(body=bodies)
    def check(body):
        assert call(owner_client, "api_connection_create", project.id, body=body).status_code in (200, 400)
        assert call(owner_client, "api_connection_update", connection.id, body=body).status_code in (200, 400)

    check()

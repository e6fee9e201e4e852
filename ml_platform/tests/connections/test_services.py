"""Connection services: field splitting, secret bookkeeping, merges on update, failure clean-up."""
import pytest

from ml_platform import models
from ml_platform.connections import services
from ml_platform.connections.schemas import ConnectionCreate, ConnectionFields
from ml_platform.models import Connection, EncryptedSecret
from ml_platform.utils.errors import ExternalServiceError, Invalid
from ml_platform.utils.secrets import connection_secrets, secret_name

pytestmark = pytest.mark.django_db


def create(project, owner, **fields):
    return services.connection_create(project=project, user=owner, data=ConnectionCreate.model_validate(fields))


def test_split_fields_applies_defaults_drops_unused_fields_and_the_mask():
    params, secrets = services.split_fields("postgresql", {"host": "h", "database": "d", "username": "u",
                                                           "bucket_path": "gs://x", "password": "********"})
    assert params == {"host": "h", "database": "d", "username": "u", "port": 5432, "schema": "public",
                      "sslmode": "prefer"}
    assert secrets == {}
    params, _ = services.split_fields("azure_blob", {"bucket_path": "container/sub"})
    assert params["bucket_path"] == "az://container/sub"


def test_create_names_the_secret_and_lists_set_fields(project, owner):
    connection = create(project, owner, name="s3", source_type="s3", bucket_path="s3://bkt",
                        aws_access_key_id="id", aws_secret_access_key="key", host="ignored")
    assert connection.secret_ref == secret_name(model_id=project.id, connection_id=connection.id)
    assert connection.secret_fields == ["aws_access_key_id", "aws_secret_access_key"]
    assert connection.source_host == ""
    assert EncryptedSecret.objects.filter(name=connection.secret_ref).exists()


def test_update_merges_a_new_secret_with_the_stored_ones(project, owner):
    connection = create(project, owner, name="s3", source_type="s3", bucket_path="s3://bkt",
                        aws_access_key_id="id", aws_secret_access_key="old")
    services.connection_update(connection=connection,
                               data=ConnectionFields.model_validate({"aws_secret_access_key": "new"}))
    assert connection_secrets(connection) == {"aws_access_key_id": "id", "aws_secret_access_key": "new"}


def test_update_can_clear_an_optional_param(project, owner):
    connection = create(project, owner, name="g", source_type="gcs", bucket_path="gs://bkt",
                        endpoint_url="http://127.0.0.1:1")
    services.connection_update(connection=connection, data=ConnectionFields.model_validate({"endpoint_url": ""}))
    assert Connection.objects.get(pk=connection.pk).endpoint_url == ""


def test_update_to_an_existing_name_is_refused(project, owner):
    create(project, owner, name="a", source_type="sqlite", path="/tmp/a.db")
    second = create(project, owner, name="b", source_type="sqlite", path="/tmp/b.db")
    with pytest.raises(Invalid):
        services.connection_update(connection=second, data=ConnectionFields.model_validate({"name": "a"}))


def test_secret_store_failure_leaves_no_row(project, owner, monkeypatch):
    class Broken:
        def put(self, name, values):
            raise ExternalServiceError("The secret store could not store the credentials.")

    monkeypatch.setattr(services, "get_secret_store", lambda: Broken())
    with pytest.raises(ExternalServiceError):
        create(project, owner, name="pg", source_type="postgresql", host="h", database="d", username="u",
               password="p")
    assert not Connection.objects.exists()


def test_failed_test_is_recorded_with_its_message(project, owner, tmp_path):
    connection = create(project, owner, name="f", source_type="local_files", path=str(tmp_path / "none"))
    payload = services.connection_test(connection=connection)
    connection.refresh_from_db()
    assert payload["status"] == "failed"
    assert connection.last_test_status == models.TestStatus.FAILED
    assert "Folder not found" in connection.last_test_message


def test_delete_removes_the_secret(project, owner):
    connection = create(project, owner, name="pg", source_type="postgresql", host="h", database="d",
                        username="u", password="p")
    services.connection_delete(connection=connection)
    assert not EncryptedSecret.objects.exists()


def test_a_connection_saved_without_a_required_field_is_still_tested(project):
    from ml_platform.tests.factories import ConnectionFactory

    connection = ConnectionFactory(model_endpoint=project, source_username="", source_port=1)
    payload = services.connection_test(connection=connection)
    assert payload["status"] == "failed"
    assert payload["message"].startswith("Host unreachable")


def test_update_whose_secret_store_refuses_changes_nothing(project, owner, monkeypatch):
    connection = create(project, owner, name="pg", source_type="postgresql", host="old-host", database="d",
                        username="u", password="old")

    class RefusingStore:
        def put(self, name, secrets):
            raise ExternalServiceError("Secret Manager refused the new version.")

        def get(self, name):
            return {"password": "old"}

    monkeypatch.setattr(services, "get_secret_store", lambda: RefusingStore())
    with pytest.raises(ExternalServiceError):
        services.connection_update(connection=connection, data=ConnectionFields.model_validate(
            {"host": "new-host", "password": "new"}))
    connection.refresh_from_db()
    assert connection.source_host == "old-host"

"""Local sources can never read the platform's own state (app DB, keys, warehouse), at save time or at run time."""
import pytest
from django.urls import reverse

from ml_platform.etl.runner_config import build_job_config
from ml_platform.models import Connection
from ml_platform.tests.factories import ConnectionFactory, DataSourceTableFactory, ETLRunFactory
from ml_platform.utils.errors import Invalid


@pytest.mark.parametrize("source_type", ["sqlite", "local_files"])
def test_connection_to_the_platform_state_folder_is_refused(owner_client, project, settings, source_type):
    target = settings.PLATFORM_DATA_DIR / ("platform.sqlite3" if source_type == "sqlite" else "")
    response = owner_client.post(
        reverse("api_connection_create", args=[project.pk]),
        {"name": "sneaky", "source_type": source_type, "path": str(target)}, content_type="application/json")
    assert response.status_code == 400
    assert "platform's own state" in response.json()["errors"]["path"][0]
    assert not Connection.objects.exists()


def test_demo_folder_inside_the_state_folder_is_allowed(owner_client, project, settings):
    demo = settings.PLATFORM_DATA_DIR / "demo" / "files"
    demo.mkdir(parents=True, exist_ok=True)
    response = owner_client.post(
        reverse("api_connection_create", args=[project.pk]),
        {"name": "demo files", "source_type": "local_files", "path": str(demo)}, content_type="application/json")
    assert response.status_code == 200, response.json()


def test_run_config_refuses_a_saved_connection_that_points_at_platform_state(project, settings):
    connection = ConnectionFactory(model_endpoint=project, source_type="local_files",
                                   file_path=str(settings.PLATFORM_DATA_DIR))
    run = ETLRunFactory(status="running", data_source__etl_config=project.etl_config,
                        data_source__connection=connection)
    DataSourceTableFactory(data_source=run.data_source, is_file_based=True, file_pattern="*")
    with pytest.raises(Invalid, match="platform's own state"):
        build_job_config(run)

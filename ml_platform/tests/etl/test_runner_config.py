"""Contract: the config Django builds parses with the runner's own model (etl_runner/config.py)."""
import pytest

from etl_runner.config import parse_config
from ml_platform.etl.runner_config import build_job_config
from ml_platform.models import RunStatus
from ml_platform.tests.factories import ConnectionFactory, DataSourceFactory, DataSourceTableFactory, ETLRunFactory
from ml_platform.utils.errors import Invalid

pytestmark = pytest.mark.django_db


def test_database_job_config_parses_with_the_runner_model(job, active_run, settings):
    table = job.tables.get()
    table.selected_columns = ["amount"]
    table.cursor_value = "2024-01-01T00:00:00+00:00"
    table.partition_column, table.cluster_columns = "updated_at", ["id"]
    table.save()
    config = parse_config(build_job_config(active_run))
    project_id = job.etl_config.model_endpoint_id
    assert config.source.kind == "postgresql" and config.source.params["host"] == "127.0.0.1"
    assert config.destination.backend == "duckdb"
    assert config.destination.duckdb_path == settings.WAREHOUSE_DUCKDB_PATH
    parsed = config.tables[0]
    assert parsed.dest_dataset == f"p{project_id}_raw_data" and parsed.source_schema == "public"
    assert parsed.load_mode == "merge" and parsed.cursor_value == "2024-01-01T00:00:00+00:00"
    assert parsed.columns == ["amount", "updated_at", "id"]  # cursor and key always loaded
    assert parsed.partition.column == "updated_at" and parsed.cluster_by == ["id"]


def test_full_refresh_and_table_subset_reach_the_runner(job):
    first = job.tables.get()
    second = DataSourceTableFactory(data_source=job, source_table_name="customers", dest_table_name="customers")
    run = ETLRunFactory(data_source=job, status=RunStatus.RUNNING,
                        options={"tables": [second.pk], "full_refresh": True})
    config = parse_config(build_job_config(run))
    assert [t.table_id for t in config.tables] == [second.pk] and config.tables[0].full_refresh
    assert first.pk not in [t.table_id for t in config.tables]


def test_file_job_config_parses_with_the_runner_model(project):
    connection = ConnectionFactory(model_endpoint=project, source_type="local_files", file_path="/data/in")
    job = DataSourceFactory(etl_config=project.etl_config, connection=connection, source_type="local_files")
    DataSourceTableFactory(data_source=job, is_file_based=True, source_table_name="", dest_table_name="sales",
                           sync_mode="append", file_path_prefix="sales/", file_pattern="*.csv", file_format="csv",
                           file_format_options={"delimiter": ";", "has_header": True})
    run = ETLRunFactory(data_source=job, status=RunStatus.RUNNING)
    config = parse_config(build_job_config(run))
    assert config.source.kind == "local_files" and config.tables[0].file.options.delimiter == ";"
    assert config.tables[0].file.pattern == "*.csv"


def test_bigquery_destination_settings(job, active_run, settings):
    settings.WAREHOUSE_BACKEND = "bigquery"
    settings.GCP_PROJECT_ID = "test-proj"
    config = parse_config(build_job_config(active_run))
    assert config.destination.backend == "bigquery" and config.destination.bigquery_project == "test-proj"


def test_job_without_connection_cannot_be_configured():
    run = ETLRunFactory(status=RunStatus.RUNNING)
    with pytest.raises(Invalid):
        build_job_config(run)

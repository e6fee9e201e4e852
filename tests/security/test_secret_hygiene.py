"""Secret hygiene across the whole platform: connections carry a marker secret, real runs use it, and the marker
appears in no response of any GET route, no app-database row outside the encrypted store, no log record, no run
log, no warehouse or staging file. The one place it may travel is the job config, to that run's token only."""
from __future__ import annotations

import logging
import time
import uuid
from pathlib import Path

import duckdb
import psycopg
import pytest
from cryptography.fernet import Fernet
from django.contrib.auth import get_user_model
from django.db import OperationalError
from django.db import connection as db
from django.test import Client
from django.urls import reverse

from ml_platform.etl import tokens
from ml_platform.models import ETLRun, RunStatus
from ml_platform.tests.factories import (
    DEFAULT_PASSWORD,
    ConnectionFactory,
    DataSourceFactory,
    DataSourceTableFactory,
    ETLConfigurationFactory,
    ETLRunFactory,
    ProjectFactory,
    UserFactory,
)
from ml_platform.utils.launcher import RUNNING, LocalLauncher
from tests.security.routes import RULES, all_routes

pytestmark = pytest.mark.django_db(transaction=True)
MARKER = f"SecretMarker{uuid.uuid4().hex}"


class Capture(logging.Handler):
    """Every log record anywhere in the process, formatted with its arguments and exception text."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record):
        text = record.getMessage()
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        self.lines.append(f"{record.name} {text}")


@pytest.fixture
def captured_logs():
    handler = Capture()
    loggers = [logging.getLogger()] + [logging.getLogger(n) for n in logging.Logger.manager.loggerDict
                                       if not getattr(logging.getLogger(n), "propagate", True)]
    root_level = logging.getLogger().level
    for logger in loggers:
        logger.addHandler(handler)
    logging.getLogger().setLevel(logging.DEBUG)
    yield handler
    logging.getLogger().setLevel(root_level)
    for logger in loggers:
        logger.removeHandler(handler)


@pytest.fixture
def platform(live_server, settings, tmp_path):
    settings.PLATFORM_BASE_URL = live_server.url
    settings.WAREHOUSE_BACKEND = "duckdb"
    settings.WAREHOUSE_DUCKDB_PATH = str(tmp_path / "warehouse.duckdb")
    settings.STAGING_URL = (tmp_path / "staging").as_uri()
    settings.RUN_LOG_DIR = tmp_path / "logs"
    settings.LAUNCHER_BACKEND = "local"
    settings.SECRETS_BACKEND = "local"
    settings.SECRETS_KEY = Fernet.generate_key().decode()
    return settings


@pytest.fixture
def source(pg_database):
    with psycopg.connect(pg_database["dsn"], autocommit=True) as conn:
        conn.execute("CREATE TABLE orders (id int PRIMARY KEY, updated_at timestamptz NOT NULL)")
        conn.execute("INSERT INTO orders SELECT g, now() FROM generate_series(1, 20) g")
    return pg_database


def _post(client, name, args, body):
    return client.post(reverse(name, args=args), data=body, content_type="application/json")


def _wait(run_id: int) -> ETLRun:
    """Until the run ended and its runner process is gone (nothing more will write to the app database)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:  # the in-memory SQLite test database answers "table locked" instead of waiting; production waits
            run = ETLRun.objects.get(pk=run_id)
        except OperationalError:
            time.sleep(0.2)
            continue
        if not run.is_active and LocalLauncher().state(run.execution_id) != RUNNING:
            return run
        time.sleep(0.3)
    return ETLRun.objects.get(pk=run_id)


def _drive(client, project, source) -> tuple[list[str], dict]:
    """Create, test, run and fail with marker secrets; return every response body and the objects made."""
    seen = []
    good = {"name": "shop", "source_type": "postgresql", "host": source["host"], "port": source["port"],
            "database": source["database"], "username": source["username"], "password": MARKER}
    broken = {**good, "name": "broken", "database": f"missing_{uuid.uuid4().hex[:8]}"}
    for body in (good, broken):
        seen.append(_post(client, "api_connection_test_wizard", [project.pk], body).content.decode())
    ids = {}
    for body in (good, broken):
        created = _post(client, "api_connection_create", [project.pk], body)
        assert created.status_code in (200, 201), created.content
        seen.append(created.content.decode())
        ids[body["name"]] = created.json()["connection_id"]
        for name in ("api_connection_test", "api_etl_test_connection_in_wizard",
                     "api_connection_test_and_fetch_tables"):
            seen.append(_post(client, name, [ids[body["name"]]], {}).content.decode())
        seen.append(_post(client, "api_connection_update", [ids[body["name"]]], {"description": "d"}).content.decode())
    jobs, runs = {}, {}
    for key, check in (("shop", True), ("broken", False)):
        endpoint = "api_etl_create_job" if check else "api_etl_add_source"
        table = {"schema_name": "public", "source_table_name": "orders", "dest_table_name": f"orders_{key}",
                 "sync_mode": "replace"}
        job = _post(client, endpoint, [project.pk], {"name": key, "connection_id": ids[key], "tables": [table]})
        assert job.status_code == 200, job.content
        seen.append(job.content.decode())
        jobs[key] = job.json().get("job_id") or job.json()["source_id"]
        started = _post(client, "api_etl_run_source", [jobs[key]], {})
        seen.append(started.content.decode())
        runs[key] = _wait(started.json()["run_id"])
    assert runs["shop"].status == RunStatus.COMPLETED, runs["shop"].error_message
    assert runs["broken"].status == RunStatus.FAILED and runs["broken"].error_message
    return seen, {"connections": ids, "jobs": jobs, "runs": runs}


def _every_get(client, made, project) -> list[str]:
    """Every GET route of the platform on the objects that hold the marker secret."""
    values = {"model_id": project.pk, "connection_id": made["connections"]["shop"],
              "source_id": made["jobs"]["shop"], "data_source_id": made["jobs"]["shop"],
              "run_id": made["runs"]["broken"].pk, "dataset_id": "raw_data"}
    bodies = []
    for name, pattern, _ in all_routes():
        rule = RULES.get(name or "")
        if rule is None or rule.kind in ("runner", "webhook") or name == "logout":
            continue
        path = "/" + pattern
        for key, value in values.items():
            path = path.replace(f"<int:{key}>", str(value)).replace(f"<str:{key}>", str(value))
        if "<" in path:
            continue
        for query in ({}, {"model_id": project.pk, "run": made["runs"]["broken"].pk, "table_id": 1}):
            bodies.append(client.get(path, data=query).content.decode(errors="replace"))
    return bodies


def _admin_pages(made) -> list[str]:
    admin = get_user_model().objects.create_superuser("root-admin", "a@example.com", DEFAULT_PASSWORD)
    client = Client()
    client.force_login(admin)
    pages = []
    for model in ("connection", "encryptedsecret", "etlrun", "datasource"):
        listing = client.get(f"/admin/ml_platform/{model}/")
        pages.append(listing.content.decode())
        for pk in (1, 2, 3):
            pages.append(client.get(f"/admin/ml_platform/{model}/{pk}/change/").content.decode())
    return pages


def _database_dump() -> tuple[str, str]:
    """All app-database rows as text, and the encrypted store's ciphertext separately."""
    rows, ciphertext = [], []
    with db.cursor() as cursor:
        for table in db.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')
            names = [c[0] for c in cursor.description]
            for row in cursor.fetchall():
                record = dict(zip(names, row, strict=True))
                if table == "ml_platform_encryptedsecret":
                    ciphertext.append(str(record.pop("ciphertext")))
                rows.append(f"{table} {record!r}")
    return "\n".join(rows), "\n".join(ciphertext)


def _files_text(*folders: Path) -> str:
    chunks = []
    for folder in folders:
        for path in folder.rglob("*") if folder.exists() else []:
            if path.is_file():
                chunks.append(path.read_bytes().decode(errors="replace"))
    return "\n".join(chunks)


def test_marker_secret_appears_nowhere_but_the_encrypted_store_and_the_runs_own_config(
        platform, source, captured_logs, tmp_path):
    owner = UserFactory(username="hygiene-owner")
    project = ProjectFactory(created_by=owner, name="Hygiene")
    ETLConfigurationFactory(model_endpoint=project)
    client = Client()
    assert client.login(username=owner.username, password=DEFAULT_PASSWORD)

    responses, made = _drive(client, project, source)
    responses += _every_get(client, made, project) + _admin_pages(made)
    leaks = [body[:300] for body in responses if MARKER in body]
    assert not leaks, leaks

    rows, ciphertext = _database_dump()
    assert MARKER not in rows and MARKER not in ciphertext and ciphertext  # stored, but only encrypted
    assert not [line for line in captured_logs.lines if MARKER in line], "the marker was logged"
    assert made["runs"]["broken"].error_message and MARKER not in made["runs"]["broken"].error_message
    assert captured_logs.lines, "the log capture saw nothing: it is not wired"
    assert all((Path(platform.RUN_LOG_DIR) / f"{run.pk}.log").exists() for run in made["runs"].values())
    files = _files_text(Path(platform.RUN_LOG_DIR), tmp_path / "staging")
    assert MARKER not in files, "the marker is in a run log or staging file"
    con = duckdb.connect(platform.WAREHOUSE_DUCKDB_PATH, read_only=True)
    try:
        dump = repr([con.execute(f'SELECT * FROM "{s}"."{t}"').fetchall() for s, t in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables()").fetchall()])
    finally:
        con.close()
    assert MARKER not in dump


def test_the_job_config_delivers_the_secret_only_to_the_runs_token(platform, source):
    project = ProjectFactory(created_by=UserFactory(username="cfg-owner"))
    ETLConfigurationFactory(model_endpoint=project)
    client = Client()
    client.force_login(project.created_by)
    conn_id = _post(client, "api_connection_create", [project.pk], {
        "name": "shop", "source_type": "postgresql", "host": source["host"], "port": source["port"],
        "database": source["database"], "username": source["username"], "password": MARKER}).json()["connection_id"]
    job = DataSourceFactory(etl_config=project.etl_config, connection_id=conn_id)
    DataSourceTableFactory(data_source=job, source_table_name="orders")
    run = ETLRunFactory(data_source=job, status=RunStatus.RUNNING)
    other = ETLRunFactory(data_source=DataSourceFactory(etl_config=project.etl_config,
                                                        connection=ConnectionFactory(model_endpoint=project)),
                          status=RunStatus.RUNNING)
    url = reverse("api_etl_job_config", args=[job.pk])
    assert MARKER in Client().get(url, HTTP_AUTHORIZATION=f"Bearer {tokens.run_token_mint(run)}").content.decode()
    for headers in ({}, {"HTTP_AUTHORIZATION": f"Bearer {tokens.run_token_mint(other)}"}):
        denied = Client().get(url, **headers)
        assert denied.status_code in (401, 403) and MARKER not in denied.content.decode()
    assert MARKER not in client.get(url).content.decode()  # the owner's session is not a run token

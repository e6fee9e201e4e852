"""A small platform world for the cross-cutting security suites: two users, their projects, jobs, runs, tokens.

The owner has a project with a connection (to a closed local port, so nothing ever waits on the network), a job
with an active run, a finished run, and a second job with its own active run (the "another run" token).
Launches are recorded, never started.
"""
from __future__ import annotations

import socket
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from django.test import Client

from ml_platform.etl import tokens
from ml_platform.etl.scheduler_auth import local_token_mint
from ml_platform.models import PipelineRun, RunStatus
from ml_platform.tests.factories import (
    DEFAULT_PASSWORD,
    ConnectionFactory,
    DataSourceFactory,
    DataSourceTableFactory,
    ETLConfigurationFactory,
    ETLRunFactory,
    PipelineRunFactory,
    ProjectFactory,
    UserFactory,
)
from tests.fixtures.platform import isolate_platform

SLOT = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


def closed_port() -> int:
    """A local TCP port nobody listens on (connection attempts are refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class World:
    owner: object
    other: object
    project: object
    other_project: object
    connection: object
    job: object
    table: object
    active_run: object
    finished_run: object
    pipeline_run: object
    job_b: object
    run_b: object

    @property
    def run_token(self) -> str:
        return tokens.run_token_mint(self.active_run)

    @property
    def other_run_token(self) -> str:
        return tokens.run_token_mint(self.run_b)

    def scheduler_token(self, job=None) -> str:
        return local_token_mint(job_id=(job or self.job).pk, slot=SLOT)


@pytest.fixture(autouse=True)
def no_external_network(monkeypatch):
    """Every test here stays on this machine (see netguard.py)."""
    from tests.security import netguard

    netguard.install(monkeypatch)


@pytest.fixture(autouse=True)
def isolated_platform(settings, tmp_path):
    """Warehouse, run logs, secrets and data in a fresh folder; local backends; no network."""
    isolate_platform(settings, tmp_path)
    return settings


@pytest.fixture
def world(db, launches) -> World:
    owner = UserFactory(username="owner")
    other = UserFactory(username="intruder")
    project = ProjectFactory(created_by=owner, name="Retail demand")
    ETLConfigurationFactory(model_endpoint=project)
    other_project = ProjectFactory(created_by=other, name="Intruder project")
    ETLConfigurationFactory(model_endpoint=other_project)
    connection = ConnectionFactory(model_endpoint=project, name="shop db", source_port=closed_port())
    job = DataSourceFactory(etl_config=project.etl_config, connection=connection, name="orders sync")
    table = DataSourceTableFactory(data_source=job, source_table_name="orders", dest_table_name="orders",
                                   sync_mode="merge", incremental_column="updated_at", primary_key=["id"])
    finished = ETLRunFactory(data_source=job, status=RunStatus.COMPLETED)
    active = ETLRunFactory(data_source=job, status=RunStatus.RUNNING, execution_id="fake-active")
    job_b = DataSourceFactory(etl_config=project.etl_config, connection=connection, name="customers sync")
    DataSourceTableFactory(data_source=job_b, source_table_name="customers", dest_table_name="customers")
    run_b = ETLRunFactory(data_source=job_b, status=RunStatus.RUNNING, execution_id="fake-b")
    pipeline_run = PipelineRunFactory(model_endpoint=project, kind=PipelineRun.Kind.TRAINING)
    return World(owner=owner, other=other, project=project, other_project=other_project, connection=connection,
                 job=job, table=table, active_run=active, finished_run=finished, pipeline_run=pipeline_run,
                 job_b=job_b, run_b=run_b)


def logged_in(user, **kwargs) -> Client:
    """A browser-like client with the user's session (Client.login, as the seed's tests do)."""
    client = Client(**kwargs)
    assert client.login(username=user.username, password=DEFAULT_PASSWORD)
    return client

"""Reliability fixtures: one real platform (gunicorn + PostgreSQL app DB + local launcher) per session."""
from __future__ import annotations

import psycopg
import pytest

from tests.reliability.server import Browser, PlatformServer


@pytest.fixture(scope="session")
def platform_server(tmp_path_factory):
    """gunicorn on a fresh PostgreSQL app database; runners are real subprocesses writing one DuckDB file."""
    try:
        psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not answering on 127.0.0.1:5432 ({exc}); see ../shared/docs/services.md")
    server = PlatformServer(tmp_path_factory.mktemp("platform"), workers=2, threads=8).start()
    yield server
    server.stop()


@pytest.fixture
def browser(platform_server, request) -> Browser:
    """A fresh user (named after the test) logged in through the login form."""
    username = f"u{abs(hash(request.node.nodeid)) % 10**8}"
    platform_server.create_user(username)
    return Browser(platform_server, username)

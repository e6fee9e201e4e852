"""Helpers for the connection API tests: JSON calls by route name, and a fixed local secrets key."""
import json

import pytest
from cryptography.fernet import Fernet
from django.urls import reverse


@pytest.fixture(autouse=True)
def local_secrets(settings, tmp_path):
    """Every test gets the local secret store with its own key and data folder."""
    settings.SECRETS_BACKEND = "local"
    settings.SECRETS_KEY = Fernet.generate_key().decode()
    settings.PLATFORM_DATA_DIR = tmp_path / "platform-state"  # sources live beside it, never inside it
    settings.PLATFORM_DATA_DIR.mkdir()
    return settings


def call(client, name: str, *args, body=None, method: str = "post", query=None):
    """Call a route by name; POST bodies are JSON."""
    url = reverse(name, args=args)
    if method == "get":
        return client.get(url, query or {})
    return getattr(client, method)(url, data=json.dumps(body if body is not None else {}),
                                   content_type="application/json")


def create_connection(client, project, **fields):
    """Create through the API and return the new id (asserting success)."""
    response = call(client, "api_connection_create", project.id, body=fields)
    assert response.status_code == 200, response.json()
    return response.json()["connection_id"]


def pg_fields(db: dict, **extra) -> dict:
    return {"name": "Orders DB", "source_type": "postgresql", "host": db["host"], "port": db["port"],
            "database": db["database"], "username": db["username"], **extra}

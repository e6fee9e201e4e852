"""Opt-in smoke test against the real Secret Manager API (skipped unless GCP_SMOKE_PROJECT and credentials are set)."""
import os
import uuid

import pytest

from ml_platform.utils.secrets import SecretManagerStore

pytestmark = pytest.mark.gcp_smoke


def test_put_update_read_and_delete_a_real_secret():
    project = os.environ.get("GCP_SMOKE_PROJECT", "")
    if not project or not os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"):
        pytest.skip("set GCP_SMOKE_PROJECT and GOOGLE_APPLICATION_CREDENTIALS to run against real Secret Manager")
    store = SecretManagerStore(project=project, endpoint="")
    name = f"model-0-connection-{uuid.uuid4().hex[:8]}-credentials"
    try:
        store.put(name, {"password": "first"})
        store.put(name, {"password": "second"})
        assert store.get(name) == {"password": "second"}
    finally:
        store.delete(name)
    assert store.get(name) == {}

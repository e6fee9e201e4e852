"""Fixtures for the scheduling tests: jobs with schedules, a Cloud Scheduler fake, and a local Google-style
certificate endpoint with a test RSA key pair that signs real ID tokens."""
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.core.cache import cache
from google.auth import crypt
from google.auth import jwt as google_jwt

from ml_platform.etl import scheduler_auth
from ml_platform.models import ScheduleType
from ml_platform.tests.factories import DataSourceFactory, DataSourceTableFactory
from tests.fakes.cloud_scheduler import FakeCloudScheduler

SERVICE_ACCOUNT = "scheduler@test-proj.iam.gserviceaccount.com"
AUDIENCE = "https://platform.example.test"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    scheduler_auth.clear_certs_cache()
    yield
    cache.clear()


@pytest.fixture
def make_job(project):
    """A scheduled job of the owner's project (every minute, UTC unless told otherwise)."""

    def build(**fields):
        values = {"schedule_type": ScheduleType.CRON, "schedule_cron": "* * * * *", "schedule_timezone": "UTC",
                  "etl_config": project.etl_config, **fields}
        job = DataSourceFactory(**values)
        DataSourceTableFactory(data_source=job)
        return job

    return build


@pytest.fixture
def job(make_job):
    return make_job()


@pytest.fixture(scope="session")
def _cloud_fake_server():
    fake = FakeCloudScheduler()
    fake.start()
    fake.base_routes = list(fake.routes)
    yield fake
    fake.stop()


@pytest.fixture
def cloud_fake(settings, _cloud_fake_server):
    """The Cloud Scheduler fake (emptied), with the settings that point the real client at it."""
    fake = _cloud_fake_server
    fake.routes[:] = fake.base_routes
    fake.jobs.clear()
    fake.reset_requests()
    url = fake.url
    settings.SCHEDULER_BACKEND = "gcp"
    settings.GCP_PROJECT_ID = "test-proj"
    settings.GCP_REGION = "europe-west1"
    settings.GCP_API_ENDPOINTS = {**settings.GCP_API_ENDPOINTS, "cloudscheduler": url}
    settings.PLATFORM_BASE_URL = AUDIENCE
    settings.SCHEDULER_SERVICE_ACCOUNT = SERVICE_ACCOUNT
    settings.SCHEDULER_OIDC_AUDIENCE = AUDIENCE
    return fake


def _key_and_cert(common_name: str):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30)).sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return key_pem, cert.public_bytes(serialization.Encoding.PEM).decode()


class GoogleKeys:
    """A certificate endpoint in Google's v1 format ({kid: x509 PEM}) and a signer for ID tokens."""

    def __init__(self):
        self.key_pem, cert_pem = _key_and_cert("test-google")
        self.rogue_key_pem, _ = _key_and_cert("rogue")
        self.kid = "test-kid-1"
        body = json.dumps({self.kid: cert_pem}).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server API
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/oauth2/v1/certs"

    def token(self, *, rogue: bool = False, kid: str | None = None, **overrides) -> str:
        now = int(time.time())
        claims = {"iss": "https://accounts.google.com", "aud": AUDIENCE, "email": SERVICE_ACCOUNT,
                  "email_verified": True, "sub": "1234567890", "iat": now, "exp": now + 3600, **overrides}
        claims = {key: value for key, value in claims.items() if value is not None}
        signer = crypt.RSASigner.from_string(self.rogue_key_pem if rogue else self.key_pem, key_id=kid or self.kid)
        return google_jwt.encode(signer, claims).decode()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def google_keys():
    keys = GoogleKeys()
    yield keys
    keys.stop()


@pytest.fixture
def oidc_settings(settings, google_keys):
    """The webhook in production mode: Google OIDC tokens verified against the local certificate endpoint."""
    settings.SCHEDULER_BACKEND = "gcp"
    settings.GCP_PROJECT_ID = "test-proj"
    settings.SCHEDULER_SERVICE_ACCOUNT = SERVICE_ACCOUNT
    settings.SCHEDULER_OIDC_AUDIENCE = AUDIENCE
    settings.SCHEDULER_OIDC_CERTS_URL = google_keys.url
    return google_keys


@pytest.fixture
def launches(monkeypatch):
    """Replace the launcher at its boundary (`ml_platform.etl.api.trigger_cloud_run_job`); records each launch."""
    calls = []

    def launch(*, run_id, data_source_id, token):
        calls.append({"run_id": run_id, "data_source_id": data_source_id})
        return {"success": True, "execution_id": f"test-exec-{run_id}", "launcher": "test"}

    monkeypatch.setattr("ml_platform.etl.api.trigger_cloud_run_job", launch)
    return calls

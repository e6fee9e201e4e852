"""Production posture: security headers and secure cookies under the production settings (.env.example, in a
subprocess), login throttling that leaves the seed's Client.login working, and the webhook's rate limit.
(`check --deploy` is asserted in ml_platform/tests/core/test_settings.py.)"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from ml_platform.models import ETLRun
from ml_platform.tests.factories import DEFAULT_PASSWORD
from tests.security.conftest import SLOT

ROOT = Path(__file__).resolve().parents[2]
PROBE = r"""
import json, sys, django
django.setup()
from django.conf import settings
from django.core.management import call_command
settings.STATIC_ROOT = sys.argv[1]  # the image collects static files at build time; do the same here
call_command("collectstatic", verbosity=0, interactive=False)
call_command("migrate", verbosity=0)
from django.contrib.auth import get_user_model
get_user_model().objects.create_user("prod-user", password="prod-pass-123456")
from django.test import Client
host = settings.ALLOWED_HOSTS[0]
c = Client(HTTP_HOST=host)
plain = c.get("/login/")
page = c.get("/login/", secure=True)
login = c.post("/login/", {"username": "prod-user", "password": "prod-pass-123456"}, secure=True)
cookies = {k: {"secure": bool(v["secure"]), "httponly": bool(v["httponly"]), "samesite": v["samesite"]}
           for k, v in c.cookies.items()}
print(json.dumps({"plain": [plain.status_code, plain.get("Location", "")], "page": page.status_code,
                  "headers": dict(page.headers.items()), "login": login.status_code, "cookies": cookies,
                  "health": Client().get("/healthz", HTTP_HOST="10.1.2.3:8080").status_code}))
"""


def _env_example() -> dict[str, str]:
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


@pytest.fixture(scope="module")
def production(tmp_path_factory):
    """Responses of the production settings (.env.example, SQLite instead of Cloud SQL), served in a subprocess."""
    tmp = tmp_path_factory.mktemp("prod")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env.update({**_env_example(), "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}", "PLATFORM_DATA_DIR": str(tmp),
                "DJANGO_SETTINGS_MODULE": "config.settings", "LOG_LEVEL": "ERROR"})
    result = subprocess.run([sys.executable, "-c", PROBE, str(tmp / "static")], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_redirects_plain_http_to_https(production):
    status, location = production["plain"]
    assert status == 301 and location.startswith("https://")


def test_production_sends_hsts_csp_and_the_other_security_headers(production):
    headers = {k.lower(): v for k, v in production["headers"].items()}
    assert production["page"] == 200
    assert headers["strict-transport-security"] == "max-age=31536000; includeSubDomains; preload"
    csp = headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert headers["referrer-policy"] == "same-origin"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers.get("x-request-id")


def test_production_cookies_are_secure_and_the_session_cookie_is_http_only(production):
    assert production["login"] == 302, production
    cookies = production["cookies"]
    assert cookies["sessionid"]["secure"] and cookies["sessionid"]["httponly"]
    assert cookies["csrftoken"]["secure"]


def test_production_health_probe_answers_on_any_host(production):
    assert production["health"] == 200


# --- login throttling (django-axes) ---

def _fail(client, username, ip="10.0.0.1"):
    return client.post(reverse("login"), {"username": username, "password": "wrong"}, REMOTE_ADDR=ip)


def test_login_form_locks_a_user_and_ip_out_after_repeated_failures(world, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _fail(client, "owner").status_code == 200
    assert _fail(client, "owner").status_code == 429  # the limit-th failure locks the pair out
    locked = client.post(reverse("login"), {"username": "owner", "password": DEFAULT_PASSWORD},
                         REMOTE_ADDR="10.0.0.1")
    assert locked.status_code == 429
    other_ip = Client().post(reverse("login"), {"username": "owner", "password": DEFAULT_PASSWORD},
                             REMOTE_ADDR="10.0.0.2")
    assert other_ip.status_code == 302  # the lock is per user and address: an attacker cannot lock the owner out
    assert Client().post(reverse("login"), {"username": "intruder", "password": DEFAULT_PASSWORD},
                         REMOTE_ADDR="10.0.0.1").status_code == 302


def test_lockout_does_not_break_programmatic_client_login(world, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT + 2):
        _fail(Client(), "owner", ip="127.0.0.1")
    assert Client().login(username="owner", password=DEFAULT_PASSWORD)  # the seed's tests log in like this
    assert not Client().login(username="owner", password="wrong")


def test_a_successful_login_resets_the_failure_count(world, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _fail(client, "owner")
    assert client.post(reverse("login"), {"username": "owner", "password": DEFAULT_PASSWORD},
                       REMOTE_ADDR="10.0.0.1").status_code == 302
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _fail(Client(), "owner")
    assert Client().post(reverse("login"), {"username": "owner", "password": DEFAULT_PASSWORD},
                         REMOTE_ADDR="10.0.0.1").status_code == 302


# --- webhook rate limit ---

def test_webhook_deliveries_beyond_the_rate_limit_are_429_and_create_nothing(world, settings):
    from django.core.cache import cache

    from ml_platform.etl.scheduler_auth import local_token_mint

    cache.clear()
    settings.SCHEDULER_WEBHOOK_RATE_LIMIT = 5
    url = reverse("api_etl_scheduler_webhook", args=[world.job.pk])
    codes = []
    for minute in range(8):
        token = local_token_mint(job_id=world.job.pk, slot=SLOT + timedelta(minutes=minute))
        codes.append(Client().post(url, data=b"{}", content_type="application/json",
                                   HTTP_AUTHORIZATION=f"Bearer {token}").status_code)
    assert codes[:5] == [200] * 5 and codes[5:] == [429] * 3, codes
    assert ETLRun.objects.filter(data_source=world.job, scheduled_for__gte=SLOT).count() == 5
    token_b = local_token_mint(job_id=world.job_b.pk, slot=SLOT)
    other_job = Client().post(reverse("api_etl_scheduler_webhook", args=[world.job_b.pk]), data=b"{}",
                              content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token_b}")
    assert other_job.status_code == 200  # the limit is per job


def test_unauthenticated_webhook_floods_do_not_consume_the_jobs_rate_limit(world, settings):
    from django.core.cache import cache

    from ml_platform.etl.scheduler_auth import local_token_mint

    cache.clear()
    settings.SCHEDULER_WEBHOOK_RATE_LIMIT = 5
    url = reverse("api_etl_scheduler_webhook", args=[world.job.pk])
    for _ in range(20):
        assert Client().post(url, HTTP_AUTHORIZATION="Bearer forged").status_code == 401
    token = local_token_mint(job_id=world.job.pk, slot=SLOT)
    assert Client().post(url, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200

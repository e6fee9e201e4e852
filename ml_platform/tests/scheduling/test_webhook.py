"""The scheduler webhook: verified callers only, idempotent per slot, skips recorded, paused/deleted handled."""
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from ml_platform.etl.scheduler_auth import local_token_mint
from ml_platform.models import ETLRun, RunStatus, RunTrigger
from ml_platform.tests.factories import ETLRunFactory
from ml_platform.tests.scheduling.conftest import AUDIENCE, SERVICE_ACCOUNT

SLOT = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
SLOT_HEADER = "2026-06-01T10:00:00Z"


def url(job_id: int) -> str:
    return f"/api/etl/sources/{job_id}/scheduler-webhook/"


def deliver(client, job_id: int, token: str | None, schedule_time: str | None = SLOT_HEADER):
    headers = {}
    if token is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    if schedule_time:
        headers["HTTP_X_CLOUDSCHEDULER_SCHEDULETIME"] = schedule_time
    return client.post(url(job_id), data=b"{}", content_type="application/json", **headers)


# --- local mode: HMAC tokens from run_scheduler ---

def test_local_token_starts_the_scheduled_run_for_its_slot(client, job, launches):
    response = deliver(client, job.pk, local_token_mint(job_id=job.pk, slot=SLOT), schedule_time=None)
    assert response.status_code == 200, response.content
    body = response.json()
    run = ETLRun.objects.get(pk=body["run_id"])
    assert (body["status"], body["duplicate"]) == ("success", False)
    assert (run.trigger, run.scheduled_for, run.status) == (RunTrigger.SCHEDULED, SLOT, RunStatus.RUNNING)
    assert launches == [{"run_id": run.pk, "data_source_id": job.pk}]


@pytest.mark.parametrize("token", [None, "", "garbage", "Bearer", "a.b.c"])
def test_requests_without_a_valid_token_are_401_and_create_nothing(client, job, launches, token):
    response = deliver(client, job.pk, token)
    assert response.status_code == 401
    assert response.json()["status"] == "error"
    assert not ETLRun.objects.exists() and launches == []


def test_a_local_token_for_another_job_is_rejected(client, make_job, launches):
    job, other = make_job(), make_job()
    response = deliver(client, job.pk, local_token_mint(job_id=other.pk, slot=SLOT))
    assert response.status_code == 401
    assert not ETLRun.objects.exists()


def test_an_expired_local_token_is_rejected(client, job, launches):
    with time_machine.travel(datetime.now(UTC) - timedelta(minutes=10), tick=False):
        token = local_token_mint(job_id=job.pk, slot=SLOT)
    assert deliver(client, job.pk, token).status_code == 401
    assert not ETLRun.objects.exists()


def test_a_tampered_local_token_is_rejected(client, job, launches):
    token = local_token_mint(job_id=job.pk, slot=SLOT)
    assert deliver(client, job.pk, token[:-2] + ("AA" if not token.endswith("AA") else "BB")).status_code == 401


def test_a_google_token_is_not_accepted_in_local_mode(client, job, launches, google_keys):
    assert deliver(client, job.pk, google_keys.token()).status_code == 401


def test_get_is_405(client, job):
    assert client.get(url(job.pk)).status_code == 405


# --- production mode: Google OIDC ID tokens, verified against the (local) certificate endpoint ---

def test_google_signed_token_starts_the_run_for_the_header_slot(client, job, launches, oidc_settings):
    response = deliver(client, job.pk, oidc_settings.token())
    assert response.status_code == 200, response.content
    assert ETLRun.objects.get().scheduled_for == SLOT


@pytest.mark.parametrize(("overrides", "why"), [
    ({"aud": "https://elsewhere.example"}, "wrong audience"),
    ({"iss": "https://evil.example"}, "wrong issuer"),
    ({"email": "someone@evil.example"}, "wrong service account"),
    ({"email_verified": False}, "email not verified"),
    ({"email_verified": None}, "email_verified missing"),
    ({"exp": 1_000_000_000, "iat": 999_996_400}, "expired"),
    ({"rogue": True}, "signed by a key Google does not hold"),
    ({"kid": "unknown-kid"}, "unknown key id"),
])
def test_google_tokens_failing_any_check_are_401(client, job, launches, oidc_settings, overrides, why):
    response = deliver(client, job.pk, oidc_settings.token(**overrides))
    assert response.status_code == 401, why
    assert not ETLRun.objects.exists() and launches == []


def test_a_local_token_is_not_accepted_in_production_mode(client, job, launches, oidc_settings):
    assert deliver(client, job.pk, local_token_mint(job_id=job.pk, slot=SLOT)).status_code == 401


def test_an_unsigned_token_is_rejected(client, job, launches, oidc_settings):
    import base64
    import json

    def b64(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    token = b64({"alg": "none", "kid": oidc_settings.kid}) + "." + b64(
        {"iss": "accounts.google.com", "aud": AUDIENCE, "email": SERVICE_ACCOUNT, "email_verified": True}) + "."
    assert deliver(client, job.pk, token).status_code == 401


# --- idempotency, skips, paused, deleted, rate limit ---

def test_a_retried_delivery_returns_the_first_run(client, job, launches, oidc_settings):
    first = deliver(client, job.pk, oidc_settings.token()).json()
    second = deliver(client, job.pk, oidc_settings.token()).json()
    assert second["run_id"] == first["run_id"] and second["duplicate"] is True
    assert ETLRun.objects.count() == 1 and len(launches) == 1


def test_a_slot_meeting_an_active_run_is_skipped_and_recorded(client, job, launches):
    active = ETLRunFactory(data_source=job, status=RunStatus.RUNNING)
    response = deliver(client, job.pk, local_token_mint(job_id=job.pk, slot=SLOT))
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["reason"], body["run_id"]) == ("skipped", "already_running", active.pk)
    skip = ETLRun.objects.get(status=RunStatus.SKIPPED)
    assert (skip.data_source_id, skip.scheduled_for, skip.trigger) == (job.pk, SLOT, RunTrigger.SCHEDULED)
    assert str(active.pk) in skip.error_message
    again = deliver(client, job.pk, local_token_mint(job_id=job.pk, slot=SLOT)).json()
    assert again["status"] == "skipped" and ETLRun.objects.filter(status=RunStatus.SKIPPED).count() == 1
    assert launches == []


def test_a_paused_job_is_ignored_with_200(client, make_job, launches):
    job = make_job(is_paused=True)
    response = deliver(client, job.pk, local_token_mint(job_id=job.pk, slot=SLOT))
    assert response.status_code == 200
    assert response.json() == {"status": "ignored", "reason": "paused"}
    assert not ETLRun.objects.exists()


def test_a_disabled_project_is_ignored_with_200(client, job, launches):
    job.etl_config.is_enabled = False
    job.etl_config.save()
    response = deliver(client, job.pk, local_token_mint(job_id=job.pk, slot=SLOT))
    assert response.json() == {"status": "ignored", "reason": "project_disabled"}
    assert not ETLRun.objects.exists()


def test_a_deleted_job_is_404(client, job, launches, oidc_settings):
    job_id = job.pk
    job.delete()
    assert deliver(client, job_id, oidc_settings.token()).status_code == 404


def test_a_deleted_job_still_needs_a_valid_token(client, launches):
    assert deliver(client, 999999, "garbage").status_code == 401


def test_deliveries_are_rate_limited_per_job(client, make_job, launches, settings):
    settings.SCHEDULER_WEBHOOK_RATE_LIMIT = 3
    job, other = make_job(), make_job()
    codes = [deliver(client, job.pk, local_token_mint(job_id=job.pk, slot=SLOT)).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert deliver(client, other.pk, local_token_mint(job_id=other.pk, slot=SLOT)).status_code == 200
    assert ETLRun.objects.filter(data_source=job).count() == 1


def test_a_missing_schedule_time_header_dedupes_on_the_minute(client, job, launches, oidc_settings):
    with time_machine.travel(datetime(2026, 6, 1, 10, 0, 5, tzinfo=UTC), tick=False):
        first = deliver(client, job.pk, oidc_settings.token(), schedule_time=None).json()
    with time_machine.travel(datetime(2026, 6, 1, 10, 0, 50, tzinfo=UTC), tick=False):
        second = deliver(client, job.pk, oidc_settings.token(), schedule_time="not a time").json()
    assert first["run_id"] == second["run_id"]
    assert ETLRun.objects.get().scheduled_for == SLOT

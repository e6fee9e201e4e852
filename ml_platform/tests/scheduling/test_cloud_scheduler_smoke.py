"""Opt-in smoke test against the real Cloud Scheduler API (skipped unless GCP_SMOKE_PROJECT and credentials are set)."""
import os
import random

import pytest

from ml_platform.utils.cloud_scheduler import CloudScheduler, ScheduleSpec

pytestmark = pytest.mark.gcp_smoke


@pytest.fixture
def real_cloud(settings):
    project = os.environ.get("GCP_SMOKE_PROJECT", "")
    if not project or not os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"):
        pytest.skip("set GCP_SMOKE_PROJECT and GOOGLE_APPLICATION_CREDENTIALS to run against real Cloud Scheduler")
    settings.GCP_API_ENDPOINTS = {**settings.GCP_API_ENDPOINTS, "cloudscheduler": ""}
    settings.PLATFORM_BASE_URL = "https://smoke.example.com"
    settings.SCHEDULER_SERVICE_ACCOUNT = os.environ.get("GCP_SMOKE_SCHEDULER_SA", "")
    settings.SCHEDULER_OIDC_AUDIENCE = settings.PLATFORM_BASE_URL
    return CloudScheduler(project=project, region=os.environ.get("GCP_SMOKE_REGION", "us-central1"))


def test_create_update_pause_and_delete_a_real_job(real_cloud):
    job_id = random.randint(10**8, 10**9)
    spec = ScheduleSpec(job_id=job_id, cron="0 9 * * 1-5", timezone="Europe/Warsaw", paused=False)
    try:
        real_cloud.upsert(spec)
        real_cloud.upsert(ScheduleSpec(job_id=job_id, cron="0 10 * * 1-5", timezone="UTC", paused=True))
        remote = {job.job_id: job for job in real_cloud.list_managed()}[job_id]
        assert (remote.cron, remote.timezone, remote.paused) == ("0 10 * * 1-5", "UTC", True)
    finally:
        real_cloud.delete(job_id)

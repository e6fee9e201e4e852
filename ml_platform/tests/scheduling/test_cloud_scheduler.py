"""Cloud Scheduler backend through the real client (REST) against the fake: exact requests for every operation."""
from datetime import UTC, datetime

from django.core.management import call_command

from ml_platform.etl import scheduling
from ml_platform.models import DataSource, ScheduleType
from ml_platform.tests.scheduling.conftest import AUDIENCE, SERVICE_ACCOUNT
from tests.fakes.cloud_scheduler import ENABLED, PAUSED

NOW = datetime(2026, 6, 1, 10, 0, 30, tzinfo=UTC)
PARENT = "projects/test-proj/locations/europe-west1"
ORPHAN = f"{PARENT}/jobs/etl-job-999999"


def job_path(job_id: int) -> str:
    return f"/v1/{PARENT}/jobs/etl-job-{job_id}"


def expected_job(job_id: int, schedule: str, zone: str) -> dict:
    return {
        "name": f"{PARENT}/jobs/etl-job-{job_id}",
        "description": f"ETL job {job_id} (managed by the ML platform)",
        "schedule": schedule,
        "timeZone": zone,
        "httpTarget": {
            "uri": f"{AUDIENCE}/api/etl/sources/{job_id}/scheduler-webhook/",
            "httpMethod": 1,  # POST
            "headers": {"Content-Type": "application/json"},
            "body": "e30=",  # {}
            "oidcToken": {"serviceAccountEmail": SERVICE_ACCOUNT, "audience": AUDIENCE},
        },
        "retryConfig": {"retryCount": 3, "minBackoffDuration": "30s", "maxBackoffDuration": "600s",
                        "maxDoublings": 3},
        "attemptDeadline": "120s",
    }


def test_sync_creates_the_job_with_the_exact_request(cloud_fake, make_job):
    job = make_job(schedule_cron="0 9 * * 1-5", schedule_timezone="Europe/Warsaw")
    result = scheduling.schedule_sync(job=job, now=NOW)
    assert result["synced"] is True and result["backend"] == "cloud"
    assert cloud_fake.calls() == [("GET", job_path(job.pk)), ("POST", f"/v1/{PARENT}/jobs")]
    assert cloud_fake.requests[1].body == expected_job(job.pk, "0 9 * * 1-5", "Europe/Warsaw")
    assert cloud_fake.requests[1].query["$alt"] == ["json;enum-encoding=int"]
    assert DataSource.objects.get(pk=job.pk).cloud_scheduler_job_name == f"{PARENT}/jobs/etl-job-{job.pk}"


def test_an_edit_updates_the_job_in_place(cloud_fake, make_job):
    job = make_job(schedule_cron="0 9 * * 1-5", schedule_timezone="Europe/Warsaw")
    scheduling.schedule_sync(job=job, now=NOW)
    cloud_fake.reset_requests()
    job.schedule_cron, job.schedule_timezone = "30 6 * * *", "America/New_York"
    job.save()
    scheduling.schedule_sync(job=job, now=NOW)
    assert cloud_fake.calls() == [("GET", job_path(job.pk)), ("PATCH", job_path(job.pk))]
    patch = cloud_fake.requests[1]
    assert patch.query["updateMask"] == ["description,schedule,timeZone,httpTarget,retryConfig,attemptDeadline"]
    expected = expected_job(job.pk, "30 6 * * *", "America/New_York")
    expected.pop("name")
    assert patch.body == expected
    assert len(cloud_fake.jobs) == 1
    assert cloud_fake.jobs[f"{PARENT}/jobs/etl-job-{job.pk}"]["timeZone"] == "America/New_York"


def test_an_unchanged_job_is_not_rewritten(cloud_fake, job):
    scheduling.schedule_sync(job=job, now=NOW)
    cloud_fake.reset_requests()
    scheduling.schedule_sync(job=job, now=NOW)
    assert cloud_fake.calls() == [("GET", job_path(job.pk))]


def test_pause_and_resume_follow_the_job(cloud_fake, job):
    scheduling.schedule_sync(job=job, now=NOW)
    cloud_fake.reset_requests()
    job.is_paused = True
    scheduling.schedule_sync(job=job, now=NOW)
    assert cloud_fake.calls() == [("GET", job_path(job.pk)), ("POST", job_path(job.pk) + ":pause")]
    assert cloud_fake.jobs[f"{PARENT}/jobs/etl-job-{job.pk}"]["state"] == PAUSED
    cloud_fake.reset_requests()
    job.is_paused = False
    scheduling.schedule_sync(job=job, now=NOW)
    assert cloud_fake.calls() == [("GET", job_path(job.pk)), ("POST", job_path(job.pk) + ":resume")]
    assert cloud_fake.jobs[f"{PARENT}/jobs/etl-job-{job.pk}"]["state"] == ENABLED


def test_disabling_the_project_pauses_the_cloud_job(cloud_fake, job):
    job.etl_config.is_enabled = False
    scheduling.schedule_sync(job=job, now=NOW)
    assert cloud_fake.calls()[-1] == ("POST", job_path(job.pk) + ":pause")


def test_switching_to_manual_deletes_the_cloud_job(cloud_fake, job):
    scheduling.schedule_sync(job=job, now=NOW)
    job.schedule_type, job.schedule_cron = ScheduleType.MANUAL, ""
    cloud_fake.reset_requests()
    scheduling.schedule_sync(job=job, now=NOW)
    assert cloud_fake.calls() == [("DELETE", job_path(job.pk))]
    assert cloud_fake.jobs == {}
    assert DataSource.objects.get(pk=job.pk).cloud_scheduler_job_name == ""


def test_delete_removes_the_job_and_tolerates_one_already_gone(cloud_fake, job):
    scheduling.schedule_sync(job=job, now=NOW)
    cloud_fake.reset_requests()
    assert scheduling.schedule_delete(job=job)["deleted"] is True
    assert scheduling.schedule_delete(job=job)["deleted"] is True
    assert cloud_fake.calls() == [("DELETE", job_path(job.pk))] * 2
    assert cloud_fake.jobs == {}


def test_a_backend_failure_is_returned_readably_and_next_run_still_kept(cloud_fake, job, settings):
    settings.GCP_API_ENDPOINTS = {**settings.GCP_API_ENDPOINTS, "cloudscheduler": "http://127.0.0.1:9"}
    result = scheduling.schedule_sync(job=job, now=NOW)
    assert result["synced"] is False
    assert result["error"].startswith("Cloud Scheduler could not update the schedule")
    assert DataSource.objects.get(pk=job.pk).next_run_at is not None


def test_a_refusal_from_the_api_is_returned_readably(cloud_fake, job):
    cloud_fake.route("GET", r"/v1/.*", lambda request, **kw: (403, {"error": {
        "code": 403, "message": "Permission denied on resource", "status": "PERMISSION_DENIED"}}))
    cloud_fake.routes.insert(0, cloud_fake.routes.pop())
    result = scheduling.schedule_sync(job=job, now=NOW)
    assert result["error"] == "Cloud Scheduler could not update the schedule: Permission denied on resource"


def test_sync_schedules_dry_run_prints_the_plan_and_changes_nothing(cloud_fake, make_job, capsys):
    missing = make_job(schedule_cron="0 9 * * *")
    drifted = make_job(schedule_cron="0 10 * * *")
    scheduling.schedule_sync(job=drifted, now=NOW)
    DataSource.objects.filter(pk=drifted.pk).update(schedule_cron="15 10 * * *")
    cloud_fake.jobs[ORPHAN] = {"name": ORPHAN, "schedule": "* * * * *"}
    cloud_fake.jobs[f"{PARENT}/jobs/someone-elses"] = {"name": f"{PARENT}/jobs/someone-elses"}
    before = {name: dict(job) for name, job in cloud_fake.jobs.items()}
    cloud_fake.reset_requests()
    call_command("sync_schedules", "--dry-run")
    out = capsys.readouterr().out
    assert f"would create etl-job-{missing.pk}: '0 9 * * *' UTC" in out
    assert f"would update etl-job-{drifted.pk}: schedule drifted" in out
    assert f"would delete {PARENT}/jobs/etl-job-999999: no ETL job owns it" in out
    assert "someone-elses" not in out
    assert cloud_fake.calls() == [("GET", f"/v1/{PARENT}/jobs")]
    assert cloud_fake.jobs == before


def test_sync_schedules_creates_missing_fixes_drifted_and_deletes_orphans(cloud_fake, make_job, capsys):
    missing = make_job(schedule_cron="0 9 * * *")
    drifted = make_job(schedule_cron="0 10 * * *")
    scheduling.schedule_sync(job=drifted, now=NOW)
    DataSource.objects.filter(pk=drifted.pk).update(schedule_cron="15 10 * * *", is_paused=True)
    cloud_fake.jobs[ORPHAN] = {"name": ORPHAN, "schedule": "* * * * *"}
    cloud_fake.reset_requests()
    call_command("sync_schedules")
    assert sorted(cloud_fake.jobs) == [f"{PARENT}/jobs/etl-job-{missing.pk}", f"{PARENT}/jobs/etl-job-{drifted.pk}"]
    fixed = cloud_fake.jobs[f"{PARENT}/jobs/etl-job-{drifted.pk}"]
    assert (fixed["schedule"], fixed["state"]) == ("15 10 * * *", PAUSED)
    assert ("DELETE", f"/v1/{PARENT}/jobs/etl-job-999999") in cloud_fake.calls()
    assert ("PATCH", job_path(drifted.pk)) in cloud_fake.calls()
    cloud_fake.reset_requests()
    call_command("sync_schedules", "--dry-run")
    assert "nothing to do" in capsys.readouterr().out.splitlines()[-1]


def test_sync_schedules_in_local_mode_fills_in_missing_next_runs(make_job, capsys):
    job = make_job(next_run_at=None)
    call_command("sync_schedules")
    assert DataSource.objects.get(pk=job.pk).next_run_at is not None
    assert f"set next_run_at of job {job.pk}" in capsys.readouterr().out

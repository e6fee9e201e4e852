"""Schedule services: config validation, next_run_at upkeep, describe, and claiming due slots."""
from datetime import UTC, datetime, time, timedelta

import pytest

from ml_platform.etl import scheduling
from ml_platform.models import DataSource, ScheduleType
from ml_platform.utils.errors import Invalid

NOW = datetime(2026, 6, 1, 10, 0, 30, tzinfo=UTC)


def test_daily_config_becomes_model_fields_with_normalized_cron_and_next_run():
    fields = scheduling.schedule_fields_from_config(
        {"schedule_type": "daily", "schedule_time": "09:30", "schedule_timezone": "Europe/Warsaw"}, now=NOW)
    assert fields == {
        "schedule_type": "daily", "schedule_cron": "30 9 * * *", "schedule_timezone": "Europe/Warsaw",
        "schedule_time": time(9, 30), "schedule_minute": None, "schedule_day_of_week": None,
        "schedule_day_of_month": None, "next_run_at": datetime(2026, 6, 2, 7, 30, tzinfo=UTC),
    }


def test_weekly_and_monthly_keep_only_their_own_fields():
    weekly = scheduling.schedule_fields_from_config(
        {"schedule_type": "weekly", "schedule_time": "06:00", "schedule_day_of_week": 0,
         "schedule_day_of_month": 5, "schedule_minute": 7}, now=NOW)
    assert (weekly["schedule_cron"], weekly["schedule_day_of_week"], weekly["schedule_day_of_month"],
            weekly["schedule_minute"]) == ("0 6 * * 1", 0, None, None)
    monthly = scheduling.schedule_fields_from_config(
        {"schedule_type": "monthly", "schedule_time": "06:00", "schedule_day_of_month": 15}, now=NOW)
    assert (monthly["schedule_cron"], monthly["schedule_day_of_month"]) == ("0 6 15 * *", 15)


def test_manual_and_missing_config_never_fire():
    for data in (None, {}, {"schedule_type": "manual", "schedule_timezone": "Asia/Tokyo"}):
        fields = scheduling.schedule_fields_from_config(data, now=NOW)
        assert fields["schedule_type"] == "manual"
        assert fields["schedule_cron"] == "" and fields["next_run_at"] is None


def test_cron_config_is_normalized():
    fields = scheduling.schedule_fields_from_config({"schedule_type": "cron", "cron": " 0  9 * * 1-5 "}, now=NOW)
    assert fields["schedule_cron"] == "0 9 * * 1-5"
    assert fields["schedule_timezone"] == "UTC"


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"schedule_type": "cron", "cron": "61 * * * *"}, "schedule_config.cron", "out of range"),
    ({"schedule_type": "cron"}, "schedule_config.cron", "Enter a cron expression"),
    ({"schedule_type": "daily", "schedule_time": "25:00"}, "schedule_config.schedule_time", "HH:MM"),
    ({"schedule_type": "daily"}, "schedule_config.schedule_time", "HH:MM"),
    ({"schedule_type": "hourly", "schedule_timezone": "Nowhere/Land"}, "schedule_config.schedule_timezone",
     "Unknown time zone"),
    ({"schedule_type": "fortnightly"}, "schedule_config.schedule_type", "Choose one of"),
    ({"schedule_type": "weekly", "schedule_time": "09:00", "schedule_day_of_week": 9},
     "schedule_config.schedule_day_of_week", "Monday=0"),
    ({"schedule_type": "hourly", "surprise": 1}, "schedule_config.surprise", "Unknown field"),
    ({"schedule_type": "hourly", "schedule_minute": "soon"}, "schedule_config.schedule_minute", "integer"),
])
def test_invalid_config_raises_invalid_with_field_errors(data, field, message):
    with pytest.raises(Invalid) as caught:
        scheduling.schedule_fields_from_config(data)
    assert field in caught.value.errors
    assert message in " ".join(caught.value.errors[field])


def test_config_that_is_not_an_object_is_invalid():
    with pytest.raises(Invalid):
        scheduling.schedule_fields_from_config(["daily"])


def test_sync_sets_next_run_and_clears_it_when_paused_manual_or_project_disabled(job):
    result = scheduling.schedule_sync(job=job, now=NOW)
    assert result == {"backend": "local", "next_run_at": "2026-06-01T10:01:00+00:00", "synced": True, "error": None}
    assert DataSource.objects.get(pk=job.pk).next_run_at == datetime(2026, 6, 1, 10, 1, tzinfo=UTC)
    job.is_paused = True
    job.save()
    assert scheduling.schedule_sync(job=job, now=NOW)["next_run_at"] is None
    job.is_paused = False
    job.etl_config.is_enabled = False
    assert scheduling.schedule_sync(job=job, now=NOW)["next_run_at"] is None
    job.etl_config.is_enabled = True
    job.schedule_type, job.schedule_cron = ScheduleType.MANUAL, ""
    assert scheduling.schedule_sync(job=job, now=NOW)["next_run_at"] is None
    assert DataSource.objects.get(pk=job.pk).next_run_at is None


def test_describe_gives_the_sentence_and_next_five_runs(make_job):
    job = make_job(schedule_cron="0 9 * * 1-5", schedule_timezone="Europe/Warsaw")
    scheduling.schedule_sync(job=job, now=NOW)
    described = scheduling.schedule_describe(job=job, now=NOW)
    assert described["description"] == "At 09:00, Monday through Friday, Europe/Warsaw"
    assert described["next_run_at"] == "2026-06-02T07:00:00+00:00"
    assert described["next_runs"][0] == {"local": "2026-06-02T09:00:00+02:00", "utc": "2026-06-02T07:00:00+00:00"}
    assert len(described["next_runs"]) == 5


def test_describe_of_a_paused_job_shows_no_next_run(make_job):
    job = make_job(is_paused=True, next_run_at=NOW)
    described = scheduling.schedule_describe(job=job, now=NOW)
    assert described["next_run_at"] is None and described["next_runs"] == []


def test_claim_fires_a_due_slot_once_and_advances_next_run(job):
    DataSource.objects.filter(pk=job.pk).update(next_run_at=datetime(2026, 6, 1, 10, 0, tzinfo=UTC))
    claimed = scheduling.scheduler_claim_due(now=NOW)
    assert [(j.pk, slot) for j, slot in claimed] == [(job.pk, datetime(2026, 6, 1, 10, 0, tzinfo=UTC))]
    assert DataSource.objects.get(pk=job.pk).next_run_at == datetime(2026, 6, 1, 10, 1, tzinfo=UTC)
    assert scheduling.scheduler_claim_due(now=NOW) == []


def test_after_downtime_missed_slots_fire_once(job):
    DataSource.objects.filter(pk=job.pk).update(next_run_at=NOW - timedelta(hours=5))
    claimed = scheduling.scheduler_claim_due(now=NOW)
    assert len(claimed) == 1
    assert DataSource.objects.get(pk=job.pk).next_run_at == datetime(2026, 6, 1, 10, 1, tzinfo=UTC)
    assert scheduling.scheduler_claim_due(now=NOW + timedelta(seconds=20)) == []


def test_a_claim_lost_to_another_scheduler_is_not_fired(job, monkeypatch):
    slot = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
    DataSource.objects.filter(pk=job.pk).update(next_run_at=slot)
    real_next_run = scheduling._next_run

    def other_scheduler_wins(cron, zone, now):
        # Another process advances next_run_at between our read and our conditional update.
        DataSource.objects.filter(pk=job.pk, next_run_at=slot).update(next_run_at=slot + timedelta(minutes=1))
        return real_next_run(cron, zone, now)

    monkeypatch.setattr(scheduling, "_next_run", other_scheduler_wins)
    assert scheduling.scheduler_claim_due(now=NOW) == []


def test_paused_jobs_and_future_slots_are_not_claimed(make_job):
    make_job(is_paused=True, next_run_at=NOW - timedelta(minutes=1))
    make_job(next_run_at=NOW + timedelta(minutes=1))
    assert scheduling.scheduler_claim_due(now=NOW) == []


def test_disabled_project_lets_the_slot_pass_without_firing(job):
    job.etl_config.is_enabled = False
    job.etl_config.save()
    DataSource.objects.filter(pk=job.pk).update(next_run_at=NOW - timedelta(minutes=1))
    assert scheduling.scheduler_claim_due(now=NOW) == []
    assert DataSource.objects.get(pk=job.pk).next_run_at == datetime(2026, 6, 1, 10, 1, tzinfo=UTC)


def test_a_stored_schedule_that_cannot_be_evaluated_stops_firing_instead_of_crashing(make_job):
    job = make_job(schedule_cron="not a cron", next_run_at=NOW - timedelta(minutes=1))
    claimed = scheduling.scheduler_claim_due(now=NOW)
    assert [j.pk for j, _ in claimed] == [job.pk]
    assert DataSource.objects.get(pk=job.pk).next_run_at is None


def test_a_failed_backend_sync_is_recorded_on_the_job_and_cleared_by_the_next_success(job, monkeypatch):
    from ml_platform.utils import cloud_scheduler
    from ml_platform.utils.errors import ExternalServiceError

    class Refusing(cloud_scheduler.LocalScheduler):
        def upsert(self, spec):
            raise ExternalServiceError("Cloud Scheduler refused the job: permission denied.")

    monkeypatch.setattr(cloud_scheduler, "get_scheduler", lambda: Refusing())
    result = scheduling.schedule_sync(job=job)
    assert result["synced"] is False
    job.refresh_from_db()
    assert job.schedule_sync_error == "Cloud Scheduler refused the job: permission denied."
    assert scheduling.schedule_describe(job=job)["sync_error"] == job.schedule_sync_error

    monkeypatch.setattr(cloud_scheduler, "get_scheduler", lambda: cloud_scheduler.LocalScheduler())
    assert scheduling.schedule_sync(job=job)["synced"] is True
    job.refresh_from_db()
    assert job.schedule_sync_error == ""

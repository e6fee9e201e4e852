"""Run lifecycle services: start (commit then launch), conflicts, updates, finishing, cancel, reaper."""
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from ml_platform.etl import services
from ml_platform.etl.schemas import ProcessedFileIn, RunUpdateIn
from ml_platform.models import ETLRun, ProcessedFile, RunStatus, RunTrigger
from ml_platform.tests.factories import ETLRunFactory
from ml_platform.utils.errors import Conflict, Invalid

pytestmark = pytest.mark.django_db


def test_run_start_commits_queued_run_then_launch_makes_it_running(job, launches):
    run = services.run_start(job=job, trigger=RunTrigger.MANUAL)
    assert run.status == RunStatus.RUNNING and run.execution_id == f"fake-{run.pk}"
    assert launches[0]["run_id"] == run.pk and launches[0]["data_source_id"] == job.pk
    assert launches[0]["token"] and run.started_at is not None and run.job_name == "orders sync"


def test_second_start_is_a_conflict_naming_the_active_run(job, launches):
    first = services.run_start(job=job)
    with pytest.raises(Conflict) as exc:
        services.run_start(job=job)
    assert exc.value.extra == {"active_run_id": first.pk}
    assert ETLRun.objects.filter(data_source=job).count() == 1


def test_repeated_scheduled_slot_returns_the_first_run(job, launches):
    slot = datetime(2026, 1, 1, 6, tzinfo=UTC)
    first = services.run_start(job=job, trigger=RunTrigger.SCHEDULED, scheduled_for=slot)
    again = services.run_start(job=job, trigger=RunTrigger.SCHEDULED, scheduled_for=slot)
    assert again.pk == first.pk and len(launches) == 1


def test_launch_failure_marks_the_run_failed_with_the_reason(job, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("quota exceeded")

    monkeypatch.setattr("ml_platform.etl.api.trigger_cloud_run_job", broken)
    run = services.run_start(job=job)
    assert run.status == RunStatus.FAILED and run.error_type == "LaunchError"
    assert "quota exceeded" in run.error_message
    services.run_start(job=job)  # the lock was released


def test_run_start_rejects_tables_of_other_jobs(job, launches):
    with pytest.raises(Invalid) as exc:
        services.run_start(job=job, tables=[987654])
    assert "tables" in exc.value.errors


def test_start_options_are_recorded(job, launches):
    table = job.tables.get()
    run = services.run_start(job=job, tables=[table.pk], full_refresh=True)
    assert run.options == {"tables": [table.pk], "full_refresh": True}


def test_runs_start_for_project_starts_each_unpaused_job_and_reports_busy_ones(project, job, launches):
    services.run_start(job=job)
    answer = services.runs_start_for_project(project=project, user=None)
    assert answer["runs"] == [] and answer["skipped"][0]["job_id"] == job.pk


def _final(table_id: int, **extra) -> RunUpdateIn:
    result = {"table_id": table_id, "status": "completed", "rows_read": 10, "rows_loaded": 9, "bytes": 100,
              "duration_seconds": 1.5, "cursor_before": None, "cursor_after": "2024-01-01T00:00:00.123456+00:00",
              "files": 0, "error": None, "phases": {"extract": 0.5}}
    return RunUpdateIn.model_validate({"status": "completed", "phase": "finalize",
                                       "tables": [{**result, **extra}]})


def test_final_update_closes_run_and_applies_cursor_and_stats(job, active_run):
    table = job.tables.get()
    run = services.run_apply_update(run_id=active_run.pk, update=RunUpdateIn(phase="extract", heartbeat=True))
    assert run.phase == "extract" and "extract" in run.phase_timings
    run = services.run_apply_update(run_id=active_run.pk, update=_final(table.pk))
    table.refresh_from_db()
    assert run.status == RunStatus.COMPLETED and run.finished_at is not None
    assert (run.total_rows_extracted, run.total_rows_loaded, run.total_bytes) == (10, 9, 100)
    assert table.cursor_value == "2024-01-01T00:00:00.123456+00:00" and table.last_row_count == 9
    assert table.last_synced_at is not None
    assert run.phase_timings["extract"]["seconds"] >= 0


def test_late_update_after_finish_is_rejected_and_changes_nothing(job, active_run):
    table = job.tables.get()
    services.run_apply_update(run_id=active_run.pk, update=_final(table.pk))
    with pytest.raises(Conflict):
        services.run_apply_update(run_id=active_run.pk, update=_final(table.pk, cursor_after="2099-01-01"))
    table.refresh_from_db()
    assert table.cursor_value.startswith("2024-01-01")


def test_partial_run_keeps_failed_table_cursor_and_explains(job, active_run):
    table = job.tables.get()
    table.cursor_value = "old"
    table.save()
    update = RunUpdateIn.model_validate({"status": "partial", "tables": [
        {"table_id": table.pk, "status": "failed", "error": "source went away"}]})
    run = services.run_apply_update(run_id=active_run.pk, update=update)
    table.refresh_from_db()
    assert run.status == RunStatus.PARTIAL and "source went away" in run.error_message
    assert table.cursor_value == "old"


def test_failed_update_records_error_type_and_message(active_run):
    update = RunUpdateIn.model_validate({"status": "failed", "error": {"type": "SourceError", "message": "boom"}})
    run = services.run_apply_update(run_id=active_run.pk, update=update)
    assert (run.status, run.error_type, run.error_message) == ("failed", "SourceError", "boom")


def test_processed_file_mirror_is_idempotent_and_replaced_on_full_refresh(job, active_run):
    table = job.tables.get()
    data = ProcessedFileIn(table_id=table.pk, path="a.csv", size=5, generation="1", rows=3)
    services.run_record_processed_file(run=active_run, data=data)
    services.run_record_processed_file(run=active_run, data=data)
    assert ProcessedFile.objects.filter(data_source_table=table).count() == 1
    services.run_apply_update(run_id=active_run.pk, update=_final(table.pk))
    refresh = ETLRunFactory(data_source=job, status=RunStatus.RUNNING, options={"full_refresh": True})
    services.run_apply_update(run_id=refresh.pk, update=_final(table.pk))
    assert not ProcessedFile.objects.filter(data_source_table=table).exists()


def test_processed_file_for_a_table_of_another_job_is_refused(active_run):
    with pytest.raises(Invalid):
        services.run_record_processed_file(run=active_run, data=ProcessedFileIn(table_id=999999, path="x"))


def test_cancel_marks_run_cancelled_and_finished_runs_cannot_be_cancelled(active_run):
    run = services.run_cancel(run=active_run)
    assert run.status == RunStatus.CANCELLED and run.finished_at is not None
    with pytest.raises(Conflict):
        services.run_cancel(run=run)


def test_reaper_fails_silent_runs_once_and_spares_live_ones(job, settings):
    settings.RUN_HEARTBEAT_TIMEOUT_SECONDS = 180
    now = timezone.now()
    lost = ETLRunFactory(data_source=job, status=RunStatus.RUNNING, last_heartbeat_at=now - timedelta(minutes=5))
    other_job_run = ETLRunFactory(status=RunStatus.RUNNING, last_heartbeat_at=now - timedelta(seconds=10))
    assert services.run_reap_stale(now=now) == 1
    assert services.run_reap_stale(now=now) == 0
    lost.refresh_from_db()
    other_job_run.refresh_from_db()
    assert lost.status == RunStatus.FAILED and lost.error_message.startswith("runner lost")
    assert other_job_run.status == RunStatus.RUNNING


def test_reaper_fails_run_whose_local_runner_exited_without_reporting(job):
    now = timezone.now()
    run = ETLRunFactory(data_source=job, status=RunStatus.RUNNING, launcher="local", execution_id="local-999999999",
                        last_heartbeat_at=now - timedelta(seconds=60))
    assert services.run_reap_stale(now=now) == 1
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED


def test_reap_runs_command(job, capsys):
    from django.core.management import call_command

    ETLRunFactory(data_source=job, status=RunStatus.QUEUED)
    ETLRunFactory._meta.model.objects.update(created_at=timezone.now() - timedelta(hours=1))
    call_command("reap_runs")
    assert "Reaped 1 stale run(s)." in capsys.readouterr().out

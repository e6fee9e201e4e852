"""Schedule services: validate a job's schedule, keep next_run_at and the scheduler backend in step, claim due slots.

The schedule is stored once, on the DataSource; Cloud Scheduler (production) mirrors it, and the local
scheduler loop claims due jobs from next_run_at with a conditional UPDATE so two loops never fire one slot twice.
"""
import logging
from datetime import UTC, datetime, time

import requests
from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from pydantic import BaseModel, ConfigDict, ValidationError

from ml_platform.models import DataSource, ETLRun, RunStatus, RunTrigger, ScheduleType
from ml_platform.utils import cloud_scheduler, schedules
from ml_platform.utils.errors import ExternalServiceError, Invalid
from ml_platform.utils.json_api import validation_errors

logger = logging.getLogger(__name__)
PREVIEW_COUNT = 5
DELIVERY_TIMEOUT_SECONDS = 30


class ScheduleConfig(BaseModel):
    """The `schedule_config` object of the job APIs and the preview API."""

    model_config = ConfigDict(extra="forbid")

    schedule_type: str = "manual"
    cron: str | None = None
    schedule_timezone: str | None = None
    schedule_time: str | time | None = None
    schedule_minute: int | None = None
    schedule_day_of_week: int | None = None
    schedule_day_of_month: int | None = None


def _parse_config(data, prefix: str) -> ScheduleConfig:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        field = prefix.rstrip(".") or "__all__"
        raise Invalid("The schedule must be an object.", errors={field: ["Must be an object."]})
    try:
        return ScheduleConfig.model_validate(data)
    except ValidationError as exc:
        errors = {f"{prefix}{key}": value for key, value in validation_errors(exc).items()}
        raise Invalid("The schedule is invalid.", errors=errors) from exc


def _fields(config: ScheduleConfig) -> dict:
    kind = config.schedule_type
    if kind not in schedules.SCHEDULE_TYPES:
        raise schedules.ScheduleError(f"Choose one of: {', '.join(schedules.SCHEDULE_TYPES)}.", field="schedule_type")
    zone = schedules.validate_timezone(config.schedule_timezone or "UTC")
    fields = {"schedule_type": kind, "schedule_cron": "", "schedule_timezone": zone, "schedule_time": None,
              "schedule_minute": None, "schedule_day_of_week": None, "schedule_day_of_month": None}
    if kind == "cron":
        fields["schedule_cron"] = schedules.validate_cron(config.cron)
        return fields
    at = schedules.parse_time(config.schedule_time) if kind in ("daily", "weekly", "monthly") else None
    minute = (config.schedule_minute or 0) if kind == "hourly" else None
    fields["schedule_cron"] = schedules.preset_cron(kind, minute=minute, at=at, day_of_week=config.schedule_day_of_week,
                                                    day_of_month=config.schedule_day_of_month)
    fields.update(schedule_time=at, schedule_minute=minute)
    if kind == "weekly":
        fields["schedule_day_of_week"] = config.schedule_day_of_week
    if kind == "monthly":
        fields["schedule_day_of_month"] = config.schedule_day_of_month
    return fields


def schedule_fields_from_config(data: dict | None, *, prefix: str = "schedule_config.", now: datetime | None = None
                                ) -> dict:
    """DataSource field values (normalized schedule_cron, next_run_at) from a schedule_config; Invalid if wrong."""
    config = _parse_config(data, prefix)
    try:
        fields = _fields(config)
    except schedules.ScheduleError as exc:
        key = "cron" if exc.field == "cron" else exc.field
        raise Invalid(f"The schedule is invalid: {exc.message}", errors={f"{prefix}{key}": [exc.message]}) from exc
    fields["next_run_at"] = _next_run(fields["schedule_cron"], fields["schedule_timezone"], now or timezone.now())
    return fields


def _next_run(cron: str, zone: str, now: datetime) -> datetime | None:
    if not cron:
        return None
    try:
        return schedules.next_fire_time(cron, zone, after=now)
    except (ValueError, KeyError) as exc:
        logger.warning("Stored schedule %r in %s cannot be evaluated: %s", cron, zone, exc)
        return None


def _fires(job: DataSource) -> bool:
    return job.schedule_type != ScheduleType.MANUAL and bool(job.schedule_cron)


def _job_next_run(job: DataSource, now: datetime) -> datetime | None:
    if not _fires(job) or job.is_paused or not job.etl_config.is_enabled:
        return None
    return _next_run(job.schedule_cron, job.schedule_timezone, now)


def schedule_spec(job: DataSource) -> cloud_scheduler.ScheduleSpec:
    """What the scheduler backend should hold for this job."""
    return cloud_scheduler.ScheduleSpec(job_id=job.pk, cron=job.schedule_cron, timezone=job.schedule_timezone,
                                        paused=job.is_paused or not job.etl_config.is_enabled)


def schedule_sync(*, job: DataSource, now: datetime | None = None) -> dict:
    """Recompute next_run_at and mirror the schedule to the backend; a backend failure is logged and returned."""
    next_run_at = _job_next_run(job, now or timezone.now())
    DataSource.objects.filter(pk=job.pk).update(next_run_at=next_run_at)
    job.next_run_at = next_run_at
    backend = cloud_scheduler.get_scheduler()
    result = {"backend": backend.name, "next_run_at": _iso(next_run_at), "synced": True, "error": None}
    try:
        name = backend.upsert(schedule_spec(job)) if _fires(job) else _backend_delete(backend, job)
    except ExternalServiceError as exc:
        logger.warning("Schedule of ETL job %s not synced: %s", job.pk, exc.message)
        DataSource.objects.filter(pk=job.pk).update(schedule_sync_error=exc.message)  # shown on the job card
        job.schedule_sync_error = exc.message
        return {**result, "synced": False, "error": exc.message}
    if name != job.cloud_scheduler_job_name or job.schedule_sync_error:
        DataSource.objects.filter(pk=job.pk).update(cloud_scheduler_job_name=name, schedule_sync_error="")
        job.cloud_scheduler_job_name, job.schedule_sync_error = name, ""
    return result


def _backend_delete(backend, job: DataSource) -> str:
    if job.cloud_scheduler_job_name or backend.name != "local":
        backend.delete(job.pk)
    return ""


def schedule_delete(*, job: DataSource) -> dict:
    """Remove the job's scheduler entry (the job row itself is the caller's to delete)."""
    backend = cloud_scheduler.get_scheduler()
    try:
        backend.delete(job.pk)
    except ExternalServiceError as exc:
        logger.warning("Schedule of deleted ETL job %s not removed: %s", job.pk, exc.message)
        return {"backend": backend.name, "deleted": False, "error": exc.message}
    return {"backend": backend.name, "deleted": True, "error": None}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def preview(*, cron: str, zone: str, now: datetime | None = None, count: int = PREVIEW_COUNT) -> list[dict]:
    """The next fire times in the zone and in UTC."""
    if not cron:
        return []
    tz = schedules.ZoneInfo(zone)
    fires = schedules.next_fire_times(cron, zone, after=now or timezone.now(), count=count)
    return [{"local": fire.astimezone(tz).isoformat(), "utc": fire.astimezone(UTC).isoformat()} for fire in fires]


def schedule_preview(*, data: dict, now: datetime | None = None) -> dict:
    """Validate a schedule_config and describe it with its next five runs."""
    fields = schedule_fields_from_config(data, prefix="", now=now)
    cron, zone = fields["schedule_cron"], fields["schedule_timezone"]
    return {"schedule_type": fields["schedule_type"], "cron": cron, "timezone": zone,
            "description": schedules.describe(cron, zone), "next_run_at": _iso(fields["next_run_at"]),
            "next_runs": preview(cron=cron, zone=zone, now=now)}


def schedule_describe(*, job: DataSource, now: datetime | None = None) -> dict:
    """The job's schedule for pages and APIs: type, cron, zone, sentence, next run and the next five."""
    active = _fires(job) and not job.is_paused and job.etl_config.is_enabled
    return {
        "schedule_type": job.schedule_type, "cron": job.schedule_cron, "timezone": job.schedule_timezone,
        "description": schedules.describe(job.schedule_cron if _fires(job) else "", job.schedule_timezone),
        "is_paused": job.is_paused, "project_enabled": job.etl_config.is_enabled,
        "next_run_at": _iso(job.next_run_at) if active else None,
        "next_runs": _safe_preview(job, now) if active else [],
        "backend": cloud_scheduler.get_scheduler().name, "cloud_scheduler_job_name": job.cloud_scheduler_job_name,
        "sync_error": job.schedule_sync_error or None,
    }


def _safe_preview(job: DataSource, now: datetime | None) -> list[dict]:
    try:
        return preview(cron=job.schedule_cron, zone=job.schedule_timezone, now=now)
    except (ValueError, KeyError):
        return []


def scheduler_claim_due(*, now: datetime) -> list[tuple[DataSource, datetime]]:
    """Claim every due slot once: advance next_run_at only WHERE it still holds the value we read."""
    due = (DataSource.objects.select_related("etl_config")
           .filter(next_run_at__isnull=False, next_run_at__lte=now, is_paused=False)
           .order_by("next_run_at", "pk"))
    claimed = []
    for job in due:
        slot = job.next_run_at
        following = _next_run(job.schedule_cron, job.schedule_timezone, now) if _fires(job) else None
        won = DataSource.objects.filter(pk=job.pk, next_run_at=slot).update(next_run_at=following)
        if won != 1:
            continue
        job.next_run_at = following
        if job.etl_config.is_enabled:
            claimed.append((job, slot))
        else:
            logger.info("ETL job %s: slot %s passed while the project's ETL is disabled", job.pk, slot)
    return claimed


def scheduler_deliver(*, job: DataSource, slot: datetime) -> dict:
    """POST the job's webhook with a locally signed token, exactly as Cloud Scheduler would."""
    from ml_platform.etl.scheduler_auth import local_token_mint

    url = settings.PLATFORM_BASE_URL + reverse("api_etl_scheduler_webhook", args=[job.pk])
    headers = {"Authorization": f"Bearer {local_token_mint(job_id=job.pk, slot=slot)}",
               "X-CloudScheduler-ScheduleTime": slot.astimezone(UTC).isoformat().replace("+00:00", "Z"),
               "Content-Type": "application/json"}
    try:
        response = requests.post(url, data=b"{}", headers=headers, timeout=DELIVERY_TIMEOUT_SECONDS)
    except requests.RequestException as exc:
        logger.warning("Scheduler could not reach %s for job %s: %s", url, job.pk, exc.__class__.__name__)
        return {"job_id": job.pk, "slot": slot.isoformat(), "http_status": None, "error": str(exc.__class__.__name__)}
    body = _json_or_empty(response)
    return {"job_id": job.pk, "slot": slot.isoformat(), "http_status": response.status_code,
            "status": body.get("status"), "run_id": body.get("run_id")}


def _json_or_empty(response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _reap_stale(now: datetime) -> int:
    from ml_platform.etl import services

    reaper = getattr(services, "run_reap_stale", None)
    if reaper is None:
        return 0
    try:
        return reaper(now=now) or 0
    except Exception:  # noqa: BLE001 - the loop must survive a failing reaper; it is logged
        logger.exception("The stale-run reaper failed")
        return 0


def scheduler_tick(*, now: datetime | None = None) -> dict:
    """One scheduler step: reap stale runs, claim due slots, deliver each to the webhook."""
    now = now or timezone.now()
    reaped = _reap_stale(now)
    claimed = scheduler_claim_due(now=now)
    if cloud_scheduler.is_cloud_backend():
        # Cloud Scheduler fires the webhook itself; the loop only keeps next_run_at current for the pages.
        claimed = []
    deliveries = [scheduler_deliver(job=job, slot=slot) for job, slot in claimed]
    return {"now": now.isoformat(), "reaped": reaped, "deliveries": deliveries}


def schedule_record_skip(*, job: DataSource, slot: datetime, active_run_id: int | None) -> ETLRun:
    """Record in the job's history that a slot did not run because another run was active."""
    now = timezone.now()
    message = f"Skipped: run {active_run_id} was still active." if active_run_id else "Skipped: a run was active."
    try:
        with transaction.atomic():
            return ETLRun.objects.create(
                etl_config=job.etl_config, model_endpoint=job.etl_config.model_endpoint, data_source=job,
                job_name=job.name, status=RunStatus.SKIPPED, trigger=RunTrigger.SCHEDULED, scheduled_for=slot,
                options={"active_run_id": active_run_id, "reason": "already_running"},
                started_at=now, finished_at=now, error_type="AlreadyRunning", error_message=message,
            )
    except IntegrityError:
        return ETLRun.objects.get(data_source=job, scheduled_for=slot)

"""The scheduler webhook: Cloud Scheduler (production) and the local run_scheduler loop both POST here.

Verify the caller first (anything else: 401, nothing created), rate-limit per job, then start the job's run for
the scheduled slot through the one run service. The slot is the dedupe key: a retried delivery answers with the
first delivery's run; a slot that meets an active run is recorded as a skipped run and answered 200.
"""
import logging
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ml_platform.etl import scheduler_auth
from ml_platform.etl.scheduling import schedule_record_skip
from ml_platform.models import DataSource, ETLRun, RunStatus, RunTrigger
from ml_platform.utils import cloud_scheduler
from ml_platform.utils.errors import ApplicationError, Conflict, NotFound
from ml_platform.utils.json_api import json_api

logger = logging.getLogger(__name__)
RATE_LIMIT_PER_MINUTE = 60


class RateLimited(ApplicationError):
    status_code = 429
    code = "rate_limited"


def _caller(request, job_id: int) -> scheduler_auth.SchedulerCaller:
    token = scheduler_auth.bearer_token(request)
    if cloud_scheduler.is_cloud_backend():
        return scheduler_auth.oidc_token_verify(token)
    return scheduler_auth.local_token_verify(token, job_id=job_id)


def _rate_limit(job_id: int) -> None:
    limit = getattr(settings, "SCHEDULER_WEBHOOK_RATE_LIMIT", RATE_LIMIT_PER_MINUTE)
    key = f"scheduler-webhook:{job_id}:{int(timezone.now().timestamp() // 60)}"
    cache.add(key, 0, timeout=120)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, timeout=120)
        count = 1
    if count > limit:
        raise RateLimited("Too many scheduler deliveries for this job; try again in a minute.")


def _slot(request, caller: scheduler_auth.SchedulerCaller) -> datetime:
    if caller.slot is not None:
        return caller.slot.astimezone(UTC)
    header = request.headers.get("X-CloudScheduler-ScheduleTime", "").strip()
    try:
        parsed = datetime.fromisoformat(header.replace("Z", "+00:00")) if header else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        # A forced run from the console may carry no schedule time: dedupe on the minute.
        return timezone.now().replace(second=0, microsecond=0)
    return parsed.astimezone(UTC)


def _answer(run: ETLRun, *, duplicate: bool = False) -> dict:
    if run.status == RunStatus.SKIPPED:
        active = (run.options or {}).get("active_run_id")
        return {"status": "skipped", "reason": "already_running", "run_id": active, "skip_id": run.pk}
    return {"run_id": run.pk, "run_status": run.status, "scheduled_for": run.scheduled_for.isoformat(),
            "duplicate": duplicate}


def _start(job: DataSource, slot: datetime) -> dict:
    from ml_platform.etl import services

    existing = ETLRun.objects.filter(data_source=job, scheduled_for=slot).first()
    if existing:
        return _answer(existing, duplicate=True)
    try:
        run = services.run_start(job=job, trigger=RunTrigger.SCHEDULED, scheduled_for=slot)
    except Conflict as exc:
        same_slot = ETLRun.objects.filter(data_source=job, scheduled_for=slot).first()
        if same_slot:
            return _answer(same_slot, duplicate=True)
        active_id = exc.extra.get("active_run_id") or exc.extra.get("run_id")
        return _answer(schedule_record_skip(job=job, slot=slot, active_run_id=active_id))
    return _answer(run)


@csrf_exempt
@require_POST
@json_api
def scheduler_webhook(request, data_source_id: int):
    """Start the scheduled run of one job for one slot (idempotent, verified, rate-limited)."""
    caller = _caller(request, data_source_id)
    job = DataSource.objects.select_related("etl_config").filter(pk=data_source_id).first()
    if job is None:
        raise NotFound("This ETL job does not exist.")
    _rate_limit(job.pk)
    if job.is_paused or not job.etl_config.is_enabled:
        reason = "paused" if job.is_paused else "project_disabled"
        return {"status": "ignored", "reason": reason}
    slot = _slot(request, caller)
    logger.info("Scheduled delivery for job %s slot %s via %s", job.pk, slot.isoformat(), caller.kind)
    return _start(job, slot)

"""Reconcile the scheduler backend with the jobs in the database (manage.py sync_schedules)."""
from dataclasses import dataclass, field

from django.utils import timezone

from ml_platform.etl.scheduling import schedule_spec
from ml_platform.models import DataSource, ScheduleType
from ml_platform.utils import cloud_scheduler, schedules


@dataclass
class ReconcilePlan:
    """What sync_schedules will do: create missing, update drifted, delete orphans, fix next_run_at."""

    create: list[cloud_scheduler.ScheduleSpec] = field(default_factory=list)
    update: list[tuple[cloud_scheduler.ScheduleSpec, list[str]]] = field(default_factory=list)
    delete: list[cloud_scheduler.RemoteJob] = field(default_factory=list)
    next_run: list[tuple[int, object]] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The plan as human-readable lines."""
        out = [f"create etl-job-{s.job_id}: '{s.cron}' {s.timezone}{' (paused)' if s.paused else ''}"
               for s in self.create]
        out += [f"update etl-job-{s.job_id}: {', '.join(fields)} drifted" for s, fields in self.update]
        out += [f"delete {job.name}: no ETL job owns it" for job in self.delete]
        out += [f"set next_run_at of job {job_id} to {value.isoformat() if value else 'none'}"
                for job_id, value in self.next_run]
        return out or ["nothing to do: schedules are in sync"]


def _firing_jobs():
    return (DataSource.objects.select_related("etl_config").exclude(schedule_type=ScheduleType.MANUAL)
            .exclude(schedule_cron=""))


def _next_run_fixes(now) -> list[tuple[int, object]]:
    fixes = []
    for job in DataSource.objects.select_related("etl_config").order_by("pk"):
        active = job.schedule_type != ScheduleType.MANUAL and job.schedule_cron and not job.is_paused \
            and job.etl_config.is_enabled
        if active and job.next_run_at is None:
            try:
                value = schedules.next_fire_time(job.schedule_cron, job.schedule_timezone, after=now)
            except (ValueError, KeyError):
                continue
            if value:
                fixes.append((job.pk, value))
        elif not active and job.next_run_at is not None:
            fixes.append((job.pk, None))
    return fixes


def schedule_reconcile_plan(*, backend=None, now=None) -> ReconcilePlan:
    """Compare the database's schedules with the backend's jobs."""
    backend = backend or cloud_scheduler.get_scheduler()
    plan = ReconcilePlan(next_run=_next_run_fixes(now or timezone.now()))
    if backend.name == "local":
        return plan
    remote = {job.job_id: job for job in backend.list_managed()}
    wanted = {job.pk: schedule_spec(job) for job in _firing_jobs().order_by("pk")}
    for job_id, spec in wanted.items():
        if job_id not in remote:
            plan.create.append(spec)
        elif drift := backend.drifted(remote[job_id], spec):
            plan.update.append((spec, drift))
    plan.delete = [job for job_id, job in sorted(remote.items()) if job_id not in wanted]
    return plan


def schedule_reconcile(*, dry_run: bool = False, backend=None, now=None) -> ReconcilePlan:
    """Build the plan and, unless dry_run, apply it."""
    backend = backend or cloud_scheduler.get_scheduler()
    plan = schedule_reconcile_plan(backend=backend, now=now)
    if dry_run:
        return plan
    for spec in [*plan.create, *(spec for spec, _ in plan.update)]:
        name = backend.upsert(spec)
        DataSource.objects.filter(pk=spec.job_id).update(cloud_scheduler_job_name=name)
    for job in plan.delete:
        backend.delete(job.job_id)
        DataSource.objects.filter(pk=job.job_id).update(cloud_scheduler_job_name="")
    for job_id, value in plan.next_run:
        DataSource.objects.filter(pk=job_id).update(next_run_at=value)
    return plan

"""Scheduler backends: where an ETL job's schedule lives besides the database.

Local (default): nothing to register; `manage.py run_scheduler` reads `DataSource.next_run_at`.
Cloud: one Cloud Scheduler job per ETL job (`etl-job-<id>`), an HTTP target that POSTs to the webhook at
PLATFORM_BASE_URL with an OIDC token for the scheduler service account. Chosen by SCHEDULER_BACKEND.
"""
import logging
import re
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from ml_platform.utils.errors import ExternalServiceError

logger = logging.getLogger(__name__)
JOB_PREFIX = "etl-job-"
CLOUD_BACKENDS = ("gcp", "cloud", "cloud_scheduler")
RETRY = {"retry_count": 3, "min_backoff_seconds": 30, "max_backoff_seconds": 600, "max_doublings": 3}
ATTEMPT_DEADLINE_SECONDS = 120


@dataclass(frozen=True)
class ScheduleSpec:
    """What one ETL job's scheduler entry should be."""

    job_id: int
    cron: str
    timezone: str
    paused: bool


@dataclass(frozen=True)
class RemoteJob:
    """A scheduler entry as the backend reports it."""

    name: str
    job_id: int | None
    cron: str
    timezone: str
    uri: str
    paused: bool
    service_account: str = ""
    audience: str = ""


def webhook_url(job_id: int) -> str:
    """The public webhook address of a job (from PLATFORM_BASE_URL, never a request's Host header)."""
    return settings.PLATFORM_BASE_URL + reverse("api_etl_scheduler_webhook", args=[job_id])


def job_id_from_name(name: str) -> int | None:
    """The ETL job id in a scheduler job name `.../jobs/etl-job-<id>`, or None for a foreign job."""
    short = name.rsplit("/", 1)[-1]
    suffix = short.removeprefix(JOB_PREFIX)
    return int(suffix) if short.startswith(JOB_PREFIX) and suffix.isdigit() else None


class SchedulerBackend(Protocol):
    """Registers, updates, pauses and removes a job's schedule."""

    name: str

    def upsert(self, spec: ScheduleSpec) -> str: ...

    def delete(self, job_id: int) -> None: ...

    def list_managed(self) -> list[RemoteJob]: ...

    def drifted(self, remote: RemoteJob, spec: ScheduleSpec) -> list[str]: ...


class LocalScheduler:
    """The embedded scheduler keeps no registry: the run_scheduler loop reads next_run_at."""

    name = "local"

    def upsert(self, spec: ScheduleSpec) -> str:
        return ""

    def delete(self, job_id: int) -> None:
        return None

    def list_managed(self) -> list[RemoteJob]:
        return []

    def drifted(self, remote: RemoteJob, spec: ScheduleSpec) -> list[str]:
        return []


class CloudScheduler:
    """Google Cloud Scheduler over REST, one job per ETL job, updated in place."""

    name = "cloud"

    def __init__(self, *, project: str | None = None, region: str | None = None, client=None):
        self.project = project or settings.GCP_PROJECT_ID
        self.region = region or settings.GCP_REGION
        if not self.project:
            raise ImproperlyConfigured("GCP_PROJECT_ID is required for the Cloud Scheduler backend")
        self._client = client

    @property
    def client(self):
        if self._client is None:
            self._client = _build_client()
        return self._client

    @property
    def parent(self) -> str:
        return f"projects/{self.project}/locations/{self.region}"

    def job_name(self, job_id: int) -> str:
        return f"{self.parent}/jobs/{JOB_PREFIX}{job_id}"

    def upsert(self, spec: ScheduleSpec) -> str:
        """Create the job or update it in place, then pause or resume it to match."""
        from google.api_core import exceptions as gexc

        name = self.job_name(spec.job_id)
        with _readable_errors("update the schedule"):
            try:
                remote = _remote(self.client.get_job(name=name))
            except gexc.NotFound:
                remote = _remote(self.client.create_job(parent=self.parent, job=self._message(spec)))
            else:
                if [field for field in self.drifted(remote, spec) if field != "paused"]:
                    remote = _remote(self.client.update_job(job=self._message(spec), update_mask=_mask()))
            if spec.paused and not remote.paused:
                self.client.pause_job(name=name)
            elif not spec.paused and remote.paused:
                self.client.resume_job(name=name)
        return name

    def delete(self, job_id: int) -> None:
        """Remove the job; a job already gone is fine."""
        from google.api_core import exceptions as gexc

        with _readable_errors("delete the schedule"):
            try:
                self.client.delete_job(name=self.job_name(job_id))
            except gexc.NotFound:
                logger.info("Cloud Scheduler job for ETL job %s was already gone", job_id)

    def list_managed(self) -> list[RemoteJob]:
        """Every job under the parent named etl-job-*."""
        with _readable_errors("list the schedules"):
            jobs = [_remote(job) for job in self.client.list_jobs(parent=self.parent)]
        return [job for job in jobs if job.job_id is not None]

    def drifted(self, remote: RemoteJob, spec: ScheduleSpec) -> list[str]:
        """The fields where the remote job differs from what it should be."""
        wanted = {
            "schedule": spec.cron, "time_zone": spec.timezone, "uri": webhook_url(spec.job_id),
            "paused": spec.paused, "service_account": settings.SCHEDULER_SERVICE_ACCOUNT,
            "audience": settings.SCHEDULER_OIDC_AUDIENCE,
        }
        actual = {
            "schedule": remote.cron, "time_zone": remote.timezone, "uri": remote.uri, "paused": remote.paused,
            "service_account": remote.service_account, "audience": remote.audience,
        }
        return [field for field, value in wanted.items() if actual[field] != value]

    def _message(self, spec: ScheduleSpec):
        from google.cloud import scheduler_v1
        from google.protobuf import duration_pb2

        def seconds(value: int):
            return duration_pb2.Duration(seconds=value)

        return scheduler_v1.Job(
            name=self.job_name(spec.job_id),
            description=f"ETL job {spec.job_id} (managed by the ML platform)",
            schedule=spec.cron,
            time_zone=spec.timezone,
            http_target=scheduler_v1.HttpTarget(
                uri=webhook_url(spec.job_id),
                http_method=scheduler_v1.HttpMethod.POST,
                headers={"Content-Type": "application/json"},
                body=b"{}",
                oidc_token=scheduler_v1.OidcToken(
                    service_account_email=settings.SCHEDULER_SERVICE_ACCOUNT,
                    audience=settings.SCHEDULER_OIDC_AUDIENCE,
                ),
            ),
            retry_config=scheduler_v1.RetryConfig(
                retry_count=RETRY["retry_count"],
                min_backoff_duration=seconds(RETRY["min_backoff_seconds"]),
                max_backoff_duration=seconds(RETRY["max_backoff_seconds"]),
                max_doublings=RETRY["max_doublings"],
            ),
            attempt_deadline=seconds(ATTEMPT_DEADLINE_SECONDS),
        )


def _mask():
    from google.protobuf import field_mask_pb2

    paths = ["description", "schedule", "time_zone", "http_target", "retry_config", "attempt_deadline"]
    return field_mask_pb2.FieldMask(paths=paths)


def _remote(job) -> RemoteJob:
    from google.cloud import scheduler_v1

    target = job.http_target
    return RemoteJob(
        name=job.name, job_id=job_id_from_name(job.name), cron=job.schedule, timezone=job.time_zone,
        uri=target.uri, paused=job.state == scheduler_v1.Job.State.PAUSED,
        service_account=target.oidc_token.service_account_email, audience=target.oidc_token.audience,
    )


class _readable_errors:  # noqa: N801 - used as a context manager
    """Turn Google API failures into ExternalServiceError with a sentence a user can act on."""

    def __init__(self, action: str):
        self.action = action

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        from google.api_core import exceptions as gexc
        from google.auth import exceptions as auth_exc

        if exc is None or isinstance(exc, ExternalServiceError):
            return False
        if isinstance(exc, gexc.GoogleAPIError | auth_exc.GoogleAuthError | OSError):
            detail = getattr(exc, "message", None) or exc.__class__.__name__
            detail = re.sub(r"^[A-Z]+ https?://\S+: ", "", str(detail))
            raise ExternalServiceError(f"Cloud Scheduler could not {self.action}: {detail}",
                                       code="scheduler_error") from exc
        return False


def _build_client():
    from google.api_core.client_options import ClientOptions
    from google.cloud import scheduler_v1

    endpoint = settings.GCP_API_ENDPOINTS.get("cloudscheduler") or ""
    if endpoint:
        from google.auth.credentials import AnonymousCredentials

        return scheduler_v1.CloudSchedulerClient(
            transport="rest", credentials=AnonymousCredentials(),
            client_options=ClientOptions(api_endpoint=endpoint),
        )
    return scheduler_v1.CloudSchedulerClient(transport="rest")


def get_scheduler() -> SchedulerBackend:
    """The backend chosen by SCHEDULER_BACKEND ('local', or 'gcp' / 'cloud' / 'cloud_scheduler')."""
    backend = (settings.SCHEDULER_BACKEND or "local").lower()
    if backend == "local":
        return LocalScheduler()
    if backend in CLOUD_BACKENDS:
        return CloudScheduler()
    raise ImproperlyConfigured(f"Unknown SCHEDULER_BACKEND {backend!r}: use 'local' or 'gcp'")


def is_cloud_backend() -> bool:
    """True when schedules live in Cloud Scheduler (the webhook then expects Google OIDC tokens)."""
    return (settings.SCHEDULER_BACKEND or "local").lower() in CLOUD_BACKENDS

"""ETL page views: the `model_etl` page and the fragments its scripts swap in (runs, run details, jobs).

Every read here costs a constant number of queries however many jobs and runs a project has: the jobs
carry their last runs as subquery annotations, the runs table is paginated in SQL and the charts read
bounded aggregates.
"""
from datetime import timedelta
from functools import lru_cache
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, DateField, Func, OuterRef, Q, Subquery, Sum
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.views.decorators.http import require_GET

from ml_platform import selectors, services
from ml_platform.etl import selectors as etl_selectors
from ml_platform.models import (
    ACTIVE_RUN_STATUSES,
    FILE_SOURCE_TYPES,
    DataSourceTable,
    ETLRun,
    RunStatus,
    RunTrigger,
    ScheduleType,
    SourceType,
    SyncMode,
)
from ml_platform.utils import schedules

RUNS_PER_PAGE = 25
CHART_DAYS = 3
CHART_MAX_RUNS = 3000
ROWS_CHART_DAYS = 14
LATE_GRACE = timedelta(minutes=10)
PLACEHOLDER_ID = 987654321

# URL names the page's scripts call: {key: (url name, needs the project id)}. Routes with an object id are
# reversed with PLACEHOLDER_ID, which api.js swaps for the real id.
API_ROUTES = {
    "connection_list": ("api_connection_list", True),
    "connection_create": ("api_connection_create", True),
    "connection_test_wizard": ("api_connection_test_wizard", True),
    "connection_get": ("api_connection_get", False),
    "connection_update": ("api_connection_update", False),
    "connection_test": ("api_connection_test", False),
    "connection_usage": ("api_connection_get_usage", False),
    "connection_delete": ("api_connection_delete", False),
    "fetch_schemas": ("api_connection_fetch_schemas", False),
    "fetch_tables": ("api_connection_fetch_tables_for_schema", False),
    "fetch_preview": ("api_connection_fetch_table_preview", False),
    "list_files": ("api_connection_list_files", False),
    "detect_file_schema": ("api_connection_detect_file_schema", False),
    "check_job_name": ("api_etl_check_job_name", True),
    "create_job": ("api_etl_create_job", True),
    "get_source": ("api_etl_get_source", False),
    "edit_source": ("api_etl_edit_source", False),
    "run_source": ("api_etl_run_source", False),
    "toggle_pause": ("api_etl_toggle_pause", False),
    "delete_source": ("api_etl_delete_source", False),
    "run_status": ("api_etl_run_status", False),
    "run_cancel": ("api_etl_run_cancel", False),
    "validate_compat": ("api_etl_validate_schema_compatibility", None),
    "schedule_preview": ("api_etl_schedule_preview", None),
    "list_bq_tables": ("api_etl_list_bq_tables", "dataset"),
    "runs_fragment": ("model_etl_runs_fragment", True),
}


DB, FILES = "postgresql mysql", "local_files gcs s3 azure_blob"
# The connection form's fields (the connections API's flat request shape), shown per source type.
CONNECTION_FIELDS = [
    {"name": "host", "label": "Host", "kind": "text", "types": DB, "placeholder": "127.0.0.1"},
    {"name": "port", "label": "Port", "kind": "number", "types": DB, "placeholder": "5432 / 3306"},
    {"name": "database", "label": "Database", "kind": "text", "types": DB},
    {"name": "schema", "label": "Default schema", "kind": "text", "types": "postgresql", "placeholder": "public"},
    {"name": "username", "label": "User name", "kind": "text", "types": DB},
    {"name": "password", "label": "Password", "kind": "password", "types": DB, "secret": True},
    {"name": "sslmode", "label": "SSL", "kind": "select", "types": DB,
     "options": ["", "disable", "prefer", "require", "verify-ca", "verify-full"]},
    {"name": "path", "label": "Path", "kind": "text", "types": "sqlite local_files", "wide": True,
     "help": "SQLite: the database file. Local folder: the root folder of the files."},
    {"name": "bucket_path", "label": "Bucket path", "kind": "text", "types": "gcs s3 azure_blob", "wide": True,
     "placeholder": "gs://bucket/prefix · s3://bucket/prefix · container/prefix"},
    {"name": "aws_access_key_id", "label": "Access key id", "kind": "text", "types": "s3", "secret": True},
    {"name": "aws_secret_access_key", "label": "Secret access key", "kind": "password", "types": "s3",
     "secret": True},
    {"name": "aws_region", "label": "Region", "kind": "text", "types": "s3", "placeholder": "eu-west-1"},
    {"name": "endpoint_url", "label": "Endpoint URL (optional)", "kind": "text", "types": "s3"},
    {"name": "azure_storage_account", "label": "Storage account", "kind": "text", "types": "azure_blob"},
    {"name": "azure_account_key", "label": "Account key", "kind": "password", "types": "azure_blob", "secret": True},
    {"name": "azure_sas_token", "label": "SAS token", "kind": "password", "types": "azure_blob", "secret": True},
    {"name": "connection_string", "label": "Connection string", "kind": "password", "types": "azure_blob",
     "secret": True, "wide": True},
    {"name": "project_id", "label": "GCP project", "kind": "text", "types": "bigquery firestore"},
    {"name": "dataset", "label": "Dataset", "kind": "text", "types": "bigquery"},
    {"name": "service_account_json", "label": "Service-account JSON", "kind": "textarea",
     "types": "gcs bigquery firestore", "secret": True, "wide": True,
     "help": "Leave empty to use the platform's own identity (workload identity)."},
]
SECRET_FIELDS = [f["name"] for f in CONNECTION_FIELDS if f.get("secret")]


def _reverse_or_none(name: str, args: list) -> str | None:
    """A route's path, or None while the route does not exist (the script then says so instead of failing)."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def api_urls(project_id: int) -> dict[str, str | None]:
    """The URL map handed to the page's scripts through json_script."""
    urls = {}
    for key, (name, arg) in API_ROUTES.items():
        if arg is True:
            args = [project_id]
        elif arg == "dataset":
            args = ["raw_data"]
        elif arg is None:
            args = []
        else:
            args = [PLACEHOLDER_ID]
        urls[key] = _reverse_or_none(name, args)
    return urls


def _last_run(field: str, offset: int = 0):
    """A subquery: `field` of the job's latest run (or of the one before it with offset=1)."""
    runs = ETLRun.objects.filter(data_source=OuterRef("pk")).exclude(status=RunStatus.SKIPPED)
    return Subquery(runs.order_by("-created_at", "-id").values(field)[offset:offset + 1])


def _active_run(field: str):
    runs = ETLRun.objects.filter(data_source=OuterRef("pk"), status__in=ACTIVE_RUN_STATUSES)
    return Subquery(runs.order_by("-created_at").values(field)[:1])


def jobs_with_health(etl_config):
    """The project's jobs with the ids of their last and active runs (two queries; decorate_jobs adds one)."""
    return (
        etl_config.data_sources.select_related("connection")
        .prefetch_related("tables")
        .annotate(
            last_run_id=_last_run("id"),
            previous_run_status=_last_run("status", offset=1),
            active_run_id=_active_run("id"),
        )
        .order_by("name")
    )


def _attach_runs(jobs: list) -> None:
    """Status, time, rows and phase of each job's last and active run, read in one query."""
    ids = {job.last_run_id for job in jobs} | {job.active_run_id for job in jobs}
    ids.discard(None)
    fields = ("id", "status", "created_at", "total_rows_loaded", "phase")
    runs = {r["id"]: r for r in ETLRun.objects.filter(pk__in=ids).values(*fields)} if ids else {}
    for job in jobs:
        last, active = runs.get(job.last_run_id) or {}, runs.get(job.active_run_id) or {}
        job.last_run_status, job.last_run_at = last.get("status"), last.get("created_at")
        job.last_run_rows, job.active_run_phase = last.get("total_rows_loaded"), active.get("phase", "")


def job_health(job, now) -> str:
    """One word for a job's state: running, paused, failing, late or enabled."""
    if job.active_run_id:
        return "running"
    if job.is_paused:
        return "paused"
    failed = (RunStatus.FAILED, RunStatus.PARTIAL)
    if job.last_run_status == RunStatus.FAILED and job.previous_run_status in failed:
        return "failing"
    if job.schedule_type != ScheduleType.MANUAL and job.next_run_at and job.next_run_at < now - LATE_GRACE:
        return "late"
    if job.last_run_status == RunStatus.FAILED:
        return "failed"
    return "enabled"


def schedule_words(job) -> str:
    """The job's schedule as a sentence, e.g. 'At 09:00, only on Monday, Europe/Warsaw'."""
    return _schedule_sentence(job.schedule_type, job.schedule_cron, job.schedule_timezone, job.schedule_minute,
                              job.schedule_time, job.schedule_day_of_week, job.schedule_day_of_month)


@lru_cache(maxsize=512)
def _schedule_sentence(kind, cron, zone, minute, at, day_of_week, day_of_month) -> str:
    try:
        if kind != ScheduleType.CRON:
            cron = schedules.preset_cron(kind, minute=minute, at=at, day_of_week=day_of_week,
                                         day_of_month=day_of_month)
        return schedules.describe(cron, zone)
    except Exception:  # noqa: BLE001 - a stored schedule the describer cannot read still shows its raw form
        return f"{ScheduleType(kind).label if kind in ScheduleType.values else kind} {cron} ({zone})".strip()


def decorate_jobs(jobs) -> list:
    """The jobs as a list, each with its health word, schedule sentence and file flag."""
    now = timezone.now()
    decorated = list(jobs)
    _attach_runs(decorated)
    for job in decorated:
        job.health = job_health(job, now)
        job.schedule_text = schedule_words(job)
        job.is_file_job = job.source_type in FILE_SOURCE_TYPES
    return decorated


class RunFilters:
    """The runs table's filters, read from the query string (bad values are ignored, never an error)."""

    def __init__(self, params):
        self.job = params.get("job", "")
        self.status = params.get("status", "")
        self.trigger = params.get("trigger", "")
        self.since = parse_date(params.get("since", "") or "") if _is_date(params.get("since")) else None
        self.until = parse_date(params.get("until", "") or "") if _is_date(params.get("until")) else None
        self.q = params.get("q", "").strip()[:100]
        self.page = params.get("page", "1")

    def apply(self, runs):
        if self.job.isdigit():
            runs = runs.filter(data_source_id=int(self.job))
        if self.status in RunStatus.values:
            runs = runs.filter(status=self.status)
        if self.trigger in RunTrigger.values:
            runs = runs.filter(trigger=self.trigger)
        if self.since:
            runs = runs.filter(created_at__date__gte=self.since)
        if self.until:
            runs = runs.filter(created_at__date__lte=self.until)
        if self.q:
            query = Q(job_name__icontains=self.q) | Q(error_message__icontains=self.q)
            runs = runs.filter(query | Q(pk=int(self.q))) if self.q.isdigit() else runs.filter(query)
        return runs

    def as_query(self) -> str:
        pairs = {"job": self.job, "status": self.status, "trigger": self.trigger, "q": self.q,
                 "since": self.since or "", "until": self.until or ""}
        return urlencode({k: v for k, v in pairs.items() if v})


def _is_date(value) -> bool:
    try:
        return bool(value) and parse_date(value) is not None
    except ValueError:
        return False


def runs_page(project, params) -> dict:
    """One page of the project's runs after filters: two queries (count and rows)."""
    filters = RunFilters(params)
    runs = filters.apply(ETLRun.objects.filter(model_endpoint=project)).select_related("triggered_by")
    page = Paginator(runs.order_by("-created_at", "-id"), RUNS_PER_PAGE).get_page(filters.page)
    now = timezone.now()
    for run in page.object_list:
        _attach_progress(run, now)
    return {"runs_page": page, "filters": filters, "has_active": any(r.is_active for r in page.object_list)}


def _attach_progress(run, now) -> None:
    """Elapsed time, rate and percentage for a run's progress line."""
    end = run.finished_at or now
    run.elapsed = (end - run.started_at).total_seconds() if run.started_at else None
    rows = max(run.total_rows_loaded, run.total_rows_extracted)
    run.rows_so_far = rows
    run.rate = rows / run.elapsed if run.elapsed and rows else None
    total = run.rows_total_estimate
    run.percent = min(100, round(100 * rows / total)) if total else None
    run.elapsed_text = duration_text(run.elapsed)


def duration_text(seconds: float | None) -> str:
    """1.2 s, 3 min 4 s, 2 h 5 min."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


class UtcDate(Func):
    """DATE(column) in SQL: the UTC day of a timestamp (TruncDate runs a Python function per row on SQLite)."""

    function = "DATE"
    output_field = DateField()


def chart_data(project) -> dict:
    """Runs of the last days (for the duration chart) and rows loaded per day: two bounded queries."""
    now = timezone.now()
    since = now - timedelta(days=CHART_DAYS)
    runs = (
        ETLRun.objects.filter(model_endpoint=project, created_at__gte=since, started_at__isnull=False)
        .exclude(status=RunStatus.SKIPPED)
        .order_by("-created_at")
        .values("id", "job_name", "status", "started_at", "finished_at", "total_rows_loaded")[:CHART_MAX_RUNS]
    )
    points = [
        {"id": r["id"], "job": r["job_name"], "status": r["status"], "start": r["started_at"].isoformat(),
         "seconds": round(((r["finished_at"] or now) - r["started_at"]).total_seconds(), 1),
         "rows": r["total_rows_loaded"], "active": r["finished_at"] is None}
        for r in runs
    ]
    day_since = now - timedelta(days=ROWS_CHART_DAYS)
    days = (
        ETLRun.objects.filter(model_endpoint=project, created_at__gte=day_since)
        .annotate(day=UtcDate("created_at"))
        .values("day")
        .annotate(rows=Sum("total_rows_loaded"), runs=Count("id"),
                  failed=Count("id", filter=Q(status=RunStatus.FAILED)))
        .order_by("day")
    )
    per_day = [{"day": d["day"].isoformat(), "rows": d["rows"] or 0, "runs": d["runs"], "failed": d["failed"]}
               for d in days]
    return {"runs": points, "days": per_day, "since": since.isoformat(), "now": now.isoformat()}


def _page_config(project, jobs, connections) -> dict:
    """What the scripts need besides the URLs: choices for the wizard and the jobs' ids and names."""
    return {
        "project_id": project.pk,
        "source_types": [{"value": v, "label": label, "file": v in FILE_SOURCE_TYPES}
                         for v, label in SourceType.choices],
        "sync_modes": [{"value": v, "label": label} for v, label in SyncMode.choices],
        "schedule_types": [{"value": v, "label": label} for v, label in ScheduleType.choices],
        "jobs": [{"id": j.pk, "name": j.name, "paused": j.is_paused} for j in jobs],
        "secret_fields": SECRET_FIELDS,
        "connections": {c.pk: {"name": c.name, "type": c.source_type, "file": c.source_type in FILE_SOURCE_TYPES}
                        for c in connections},
    }


@login_required
@require_GET
def model_etl(request, model_id):
    """ETL page: connections, jobs, runs and charts of one project."""
    project = selectors.project_get_for_user(user=request.user, project_id=model_id)
    etl_config = services.project_etl_config(project=project)
    jobs = decorate_jobs(jobs_with_health(etl_config))
    connections = list(project.connections.annotate(job_count=Count("data_sources")).order_by("name"))
    context = {
        "project": project,
        "section": "etl",
        "etl_config": etl_config,
        "connections": connections,
        "jobs": jobs,
        "attention": [j for j in jobs if j.health in ("failing", "late")],
        "api_urls": api_urls(project.pk),
        "page_config": _page_config(project, jobs, connections),
        "connection_types": SourceType.choices,
        "connection_fields": CONNECTION_FIELDS,
        "schedule_types": ScheduleType.choices,
        "charts": chart_data(project),
        "run_statuses": RunStatus.choices,
        "run_triggers": RunTrigger.choices,
        **runs_page(project, request.GET),
    }
    return render(request, "ml_platform/etl/model_etl.html", context)


def _run_detail(request, project, run_id: str):
    run = ETLRun.objects.filter(model_endpoint=project, pk=int(run_id) if run_id.isdigit() else 0).select_related(
        "triggered_by", "data_source").first()
    if run is None:
        return render(request, "ml_platform/etl/_run_detail.html", {"run": None}, status=404)
    _attach_progress(run, timezone.now())
    timings = [{"phase": k, "seconds": v} for k, v in (run.phase_timings or {}).items()
               if isinstance(v, (int, float))]
    longest = max([t["seconds"] for t in timings] or [0]) or 1
    for t in timings:
        t["percent"] = round(100 * t["seconds"] / longest)
    names = dict(DataSourceTable.objects.filter(data_source_id=run.data_source_id).values_list("pk", "dest_table_name"))
    results = [r for r in (run.table_results or []) if isinstance(r, dict)]
    for result in results:
        result.setdefault("dest_table", names.get(result.get("table_id"), result.get("table_id")))
    run.table_results = results
    context = {"run": run, "timings": timings, "log_tail": etl_selectors.run_log_tail(run), "project": project,
               "hint": error_hint(run.error_type, run.error_message)}
    return render(request, "ml_platform/etl/_run_detail.html", context)


HINTS = {
    "auth": "Check the connection's user name and password, then test the connection.",
    "connect": "The source did not answer: check host, port and that the server is running.",
    "not found": "A table, column or file the job expects is gone: edit the job to match the source.",
    "runner lost": "The runner stopped sending heartbeats (killed or out of memory). Run the job again.",
    "permission": "The account can read the catalog but not the data: grant SELECT on the tables.",
    "schema": "The source's columns changed in a way the destination cannot take: see the job's drift rule.",
}


def error_hint(error_type: str, message: str) -> str:
    """A next step for the most common failures."""
    text = f"{error_type} {message}".lower()
    for needle, hint in HINTS.items():
        if needle in text:
            return hint
    return "Open the log below for the full story; Run now retries the job." if message else ""


@login_required
@require_GET
def model_etl_runs_fragment(request, model_id):
    """HTML fragments of the ETL page: runs table (default), one run (?run=), jobs or connections (?part=)."""
    project = selectors.project_get_for_user(user=request.user, project_id=model_id)
    if "run" in request.GET:
        return _run_detail(request, project, request.GET["run"])
    if request.GET.get("part") == "connections":
        connections = project.connections.annotate(job_count=Count("data_sources")).order_by("name")
        return render(request, "ml_platform/etl/_connections.html", {"connections": connections})
    if request.GET.get("part") == "jobs":
        etl_config = services.project_etl_config(project=project)
        jobs = decorate_jobs(jobs_with_health(etl_config))
        return render(request, "ml_platform/etl/_jobs.html", {"jobs": jobs, "project": project})
    context = {"project": project, **runs_page(project, request.GET)}
    return render(request, "ml_platform/etl/_runs_table.html", context)

"""Reads of projects and their ML-stage records, always scoped to the requesting user."""
from django.db.models import Count, Max, Q, QuerySet
from django.http import Http404

from ml_platform.models import ETLRun, ModelEndpoint, PipelineRun


def projects_for_user(user) -> QuerySet[ModelEndpoint]:
    """Projects the user created or was added to."""
    if not user.is_authenticated:
        return ModelEndpoint.objects.none()
    member_ids = ModelEndpoint.members.through.objects.filter(user_id=user.pk).values("modelendpoint_id")
    return ModelEndpoint.objects.filter(Q(created_by=user) | Q(pk__in=member_ids))


def project_get_for_user(*, user, project_id: int) -> ModelEndpoint:
    """The project if the user may see it; otherwise 404 (never a 403 that confirms it exists)."""
    project = projects_for_user(user).filter(pk=project_id).select_related("created_by").first()
    if project is None:
        raise Http404("Project not found")
    return project


def project_list_with_counters(*, user) -> QuerySet[ModelEndpoint]:
    """The user's projects with connection, job and run counters for the system dashboard."""
    return projects_for_user(user).annotate(
        connection_count=Count("connections", distinct=True),
        job_count=Count("etl_config__data_sources", distinct=True),
        run_count=Count("etl_runs", distinct=True),
        last_run_at=Max("etl_runs__created_at"),
    ).order_by("-created_at")


def project_recent_runs(*, project: ModelEndpoint, limit: int = 10) -> QuerySet[ETLRun]:
    """The project's latest ETL runs, newest first."""
    return ETLRun.objects.filter(model_endpoint=project).select_related("data_source")[:limit]


def project_pipeline_runs(*, project: ModelEndpoint, kind: str | None = None) -> QuerySet[PipelineRun]:
    """The project's training / deployment runs, newest first."""
    runs = PipelineRun.objects.filter(model_endpoint=project)
    return runs.filter(kind=kind) if kind else runs


def pipeline_run_get_for_user(*, user, run_id: int) -> PipelineRun:
    """A pipeline run of one of the user's projects, or 404."""
    run = PipelineRun.objects.filter(pk=run_id, model_endpoint__in=projects_for_user(user)).first()
    if run is None:
        raise Http404("Run not found")
    return run

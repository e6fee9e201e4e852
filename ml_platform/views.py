"""Main pages: the system dashboard, project creation, the project dashboard and the ML-stage pages.

ETL and connections live in their sub-apps (`ml_platform/etl/`, `ml_platform/connections/`).
"""
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Sum
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ml_platform import selectors, services
from ml_platform.etl import services as etl_services
from ml_platform.forms import MemberForm, PipelineConfigurationForm, ProjectForm
from ml_platform.models import DataSourceTable, ETLRun, PipelineRun
from ml_platform.utils.auth import api_login_required
from ml_platform.utils.errors import ApplicationError, NotImplementedYet
from ml_platform.utils.json_api import json_api


def _project_page(request, project, template: str, context: dict | None = None, *, section: str):
    """Render a project page with the sidebar context every project page shares."""
    base = {"project": project, "section": section}
    return render(request, template, {**base, **(context or {})})


@login_required
@require_GET
def system_dashboard(request):
    """Landing page: the user's projects with real counters."""
    projects = selectors.project_list_with_counters(user=request.user)
    return render(request, "ml_platform/system_dashboard.html", {"projects": projects})


@login_required
@require_http_methods(["GET", "POST"])
def create_model_endpoint(request):
    """Create a project (with its ETL and pipeline configuration)."""
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        project = services.project_create(
            user=request.user, name=form.cleaned_data["name"], description=form.cleaned_data["description"]
        )
        messages.success(request, f"Project “{project.name}” created.")
        return redirect("model_dashboard", model_id=project.pk)
    return render(request, "ml_platform/create_model_endpoint.html", {"form": form})


def _etl_health(project) -> dict:
    """Jobs by state, runs of the last 24 hours and rows loaded, for the dashboard's ETL panel."""
    since = timezone.now() - timedelta(hours=24)
    recent = ETLRun.objects.filter(model_endpoint=project, created_at__gte=since)
    by_status = dict(recent.values_list("status").annotate(n=Count("id")).order_by())
    rows = recent.aggregate(rows=Sum("total_rows_loaded"))["rows"] or 0
    return {"runs_by_status": by_status, "runs_24h": sum(by_status.values()), "rows_24h": rows}


@login_required
@require_http_methods(["GET", "POST"])
def model_dashboard(request, model_id):
    """Project overview: connections, jobs, recent runs, destination tables, members."""
    project = selectors.project_get_for_user(user=request.user, project_id=model_id)
    member_form = MemberForm(request.POST or None)
    if request.method == "POST" and member_form.is_valid():
        try:
            services.project_add_member(
                project=project, actor=request.user, username=member_form.cleaned_data["username"]
            )
            messages.success(request, "Member added.")
            return redirect("model_dashboard", model_id=project.pk)
        except ApplicationError as exc:
            member_form.add_error("username", exc.message)
    etl_config = services.project_etl_config(project=project)
    context = {
        "connections": project.connections.all(),
        "jobs": etl_config.data_sources.select_related("connection").prefetch_related("tables"),
        "recent_runs": selectors.project_recent_runs(project=project),
        "tables": DataSourceTable.objects.filter(data_source__etl_config=etl_config).select_related("data_source"),
        "members": project.members.all(),
        "member_form": member_form,
        "health": _etl_health(project),
    }
    return _project_page(request, project, "ml_platform/model_dashboard.html", context, section="dashboard")


@login_required
@require_GET
def model_dataset(request, model_id):
    """The project's warehouse tables, as loaded by its ETL jobs."""
    project = selectors.project_get_for_user(user=request.user, project_id=model_id)
    tables = DataSourceTable.objects.filter(data_source__etl_config__model_endpoint=project).select_related(
        "data_source"
    )
    return _project_page(request, project, "ml_platform/model_dataset.html", {"tables": tables}, section="dataset")


@login_required
@require_http_methods(["GET", "POST"])
def model_pipeline_config(request, model_id):
    """Edit the project's pipeline configuration."""
    project = selectors.project_get_for_user(user=request.user, project_id=model_id)
    config = services.project_pipeline_config(project=project)
    form = PipelineConfigurationForm(request.POST or None, instance=config)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Pipeline settings saved.")
        return redirect("model_pipeline_config", model_id=project.pk)
    return _project_page(request, project, "ml_platform/model_pipeline_config.html", {"form": form},
                         section="pipeline")


@login_required
@require_GET
def model_feature_engineering(request, model_id):
    """Features chosen for training and the tables they can come from."""
    project = selectors.project_get_for_user(user=request.user, project_id=model_id)
    config = services.project_pipeline_config(project=project)
    tables = DataSourceTable.objects.filter(data_source__etl_config__model_endpoint=project)
    context = {"config": config, "tables": tables}
    return _project_page(request, project, "ml_platform/model_feature_engineering.html", context,
                         section="features")


@login_required
@require_GET
def model_training(request, model_id):
    """Training runs of the project."""
    project = selectors.project_get_for_user(user=request.user, project_id=model_id)
    runs = selectors.project_pipeline_runs(project=project, kind=PipelineRun.Kind.TRAINING)
    return _project_page(request, project, "ml_platform/model_training.html", {"runs": runs}, section="training")


@login_required
@require_GET
def model_experiments(request, model_id):
    """Finished training runs and their metrics, side by side."""
    project = selectors.project_get_for_user(user=request.user, project_id=model_id)
    runs = selectors.project_pipeline_runs(project=project, kind=PipelineRun.Kind.TRAINING).filter(
        status=PipelineRun.Status.COMPLETED
    )
    return _project_page(request, project, "ml_platform/model_experiments.html", {"runs": runs},
                         section="experiments")


@login_required
@require_GET
def model_deployment(request, model_id):
    """Deployments of the project."""
    project = selectors.project_get_for_user(user=request.user, project_id=model_id)
    runs = selectors.project_pipeline_runs(project=project, kind=PipelineRun.Kind.DEPLOYMENT)
    return _project_page(request, project, "ml_platform/model_deployment.html", {"runs": runs},
                         section="deployment")


@api_login_required
@require_POST
@json_api
def api_start_training(request, model_id):
    """Training is not built yet: say so clearly and create nothing."""
    selectors.project_get_for_user(user=request.user, project_id=model_id)
    raise NotImplementedYet("Training is not available yet: the training domain has not been built.")


@api_login_required
@require_POST
@json_api
def api_deploy_model(request, model_id):
    """Deployment is not built yet: say so clearly and create nothing."""
    selectors.project_get_for_user(user=request.user, project_id=model_id)
    raise NotImplementedYet("Deployment is not available yet: the deployment domain has not been built.")


@api_login_required
@require_POST
@json_api
def api_start_etl(request, model_id):
    """Start a run of every enabled job of the project."""
    project = selectors.project_get_for_user(user=request.user, project_id=model_id)
    return etl_services.runs_start_for_project(project=project, user=request.user)


@api_login_required
@require_GET
@json_api
def api_pipeline_run_status(request, run_id):
    """Status of a training or deployment run."""
    run = selectors.pipeline_run_get_for_user(user=request.user, run_id=run_id)
    return {
        "run": {
            "id": run.pk,
            "kind": run.kind,
            "status": run.status,
            "metrics": run.metrics,
            "error_message": run.error_message,
            "started_at": run.started_at,
            "finished_at": run.finished_at,
            "created_at": run.created_at,
        }
    }

"""Main pages: the system dashboard, project creation, the project dashboard and the ML-stage pages.

ETL and connections live in their sub-apps (`ml_platform/etl/`, `ml_platform/connections/`).
"""
import logging
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Sum
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ml_platform import selectors, services
from ml_platform.etl import services as etl_services
from ml_platform.etl import views as etl_page
from ml_platform.forms import MemberForm, PipelineConfigurationForm, ProjectForm
from ml_platform.models import DataSourceTable, ETLRun, PipelineRun
from ml_platform.utils.auth import api_login_required
from ml_platform.utils.errors import ApplicationError, NotImplementedYet
from ml_platform.utils.json_api import json_api

logger = logging.getLogger(__name__)


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
        "jobs": etl_page.decorate_jobs(etl_page.jobs_with_health(etl_config)),
        "recent_runs": selectors.project_recent_runs(project=project),
        "tables": DataSourceTable.objects.filter(data_source__etl_config=etl_config).select_related("data_source"),
        "members": project.members.all(),
        "member_form": member_form,
        "health": _etl_health(project),
    }
    return _project_page(request, project, "ml_platform/model_dashboard.html", context, section="dashboard")


def _warehouse_tables(project, loaded_by: dict) -> tuple[list[dict], str]:
    """The project's warehouse tables per logical dataset, joined with the job that last loaded each.

    While a runner holds the embedded warehouse's write lock, the catalog answers from the platform's own
    record of the last committed loads instead of waiting or failing.
    """
    from ml_platform.etl.catalog import catalog_list_tables

    tables, busy = [], False
    try:
        for dataset in sorted({"raw_data", *(key[0] for key in loaded_by)}):
            items, from_catalog = catalog_list_tables(project_id=project.pk, dataset=dataset)
            busy = busy or from_catalog
            tables += [{"dataset": dataset, "name": item["name"], "rows": item.get("row_count"),
                        "size": item.get("size_bytes"), "source": loaded_by.get((dataset, item["name"]))}
                       for item in items]
    except ApplicationError as exc:
        return tables, exc.message
    except Exception:  # noqa: BLE001 - an unreachable warehouse is a message on the page, never a 500
        logger.exception("Warehouse listing failed for project %s", project.pk)
        return tables, "The warehouse could not be read right now."
    return tables, BUSY_NOTICE if busy else ""


BUSY_NOTICE = ("A load is running and holds the warehouse: showing each table as of its last committed load. "
               "Live row counts and previews return when the load finishes.")


def _table_detail(project, dataset: str, name: str) -> dict:
    """Column schema and a 20-row preview of one warehouse table."""
    from ml_platform.utils.warehouse import get_warehouse, physical_dataset

    warehouse = get_warehouse()
    physical = physical_dataset(project.pk, dataset)
    try:
        columns = warehouse.table_columns(physical, name) or []
        preview = warehouse.preview(physical, name, limit=20) if columns else {"columns": [], "rows": []}
    except ApplicationError as exc:
        if exc.code == "warehouse_busy":
            return {"dataset": dataset, "name": name, "error": "The preview returns when the running load ends."}
        return {"dataset": dataset, "name": name, "error": exc.message}
    except Exception:  # noqa: BLE001 - shown as a message next to the table
        logger.exception("Warehouse preview failed for project %s", project.pk)
        return {"dataset": dataset, "name": name, "error": "This table could not be read right now."}
    return {"dataset": dataset, "name": name, "columns": columns, "preview": preview}


@login_required
@require_GET
def model_dataset(request, model_id):
    """The project's warehouse tables: rows, last load and by which job, column schema and a 20-row preview."""
    project = selectors.project_get_for_user(user=request.user, project_id=model_id)
    loaded = DataSourceTable.objects.filter(data_source__etl_config__model_endpoint=project).select_related(
        "data_source").order_by("last_synced_at")
    loaded_by = {(t.dest_dataset, t.dest_table_name): t for t in loaded}
    tables, error = _warehouse_tables(project, loaded_by)
    chosen = request.GET.get("table", "")
    if not chosen and tables:
        chosen = f"{tables[0]['dataset']}.{tables[0]['name']}"
    known = {f"{t['dataset']}.{t['name']}" for t in tables}
    detail = _table_detail(project, *chosen.split(".", 1)) if chosen in known else None
    pending = [t for key, t in loaded_by.items() if f"{key[0]}.{key[1]}" not in known]
    context = {"warehouse_tables": tables, "warehouse_error": error, "warehouse_busy": error == BUSY_NOTICE,
               "detail": detail, "chosen": chosen,
               "pending_tables": pending, "backend": settings.WAREHOUSE_BACKEND}
    return _project_page(request, project, "ml_platform/model_dataset.html", context, section="dataset")


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

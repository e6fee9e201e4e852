"""ETL page views."""
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from ml_platform import selectors, services


@login_required
@require_GET
def model_etl(request, model_id):
    """ETL page: connections, jobs, runs and charts of one project."""
    project = selectors.project_get_for_user(user=request.user, project_id=model_id)
    etl_config = services.project_etl_config(project=project)
    context = {
        "project": project,
        "section": "etl",
        "etl_config": etl_config,
        "connections": project.connections.all(),
        "jobs": etl_config.data_sources.select_related("connection").prefetch_related("tables"),
        "recent_runs": selectors.project_recent_runs(project=project, limit=25),
    }
    return render(request, "ml_platform/etl/model_etl.html", context)

"""Schedule preview API: what a schedule means and when it will fire next (wizard and job cards)."""
from django.views.decorators.http import require_http_methods

from ml_platform.etl.scheduling import schedule_preview
from ml_platform.utils.auth import api_login_required
from ml_platform.utils.errors import Invalid
from ml_platform.utils.json_api import json_api, read_json


@api_login_required
@require_http_methods(["GET", "POST"])
@json_api
def schedule_preview_view(request):
    """Validate a schedule_config (JSON body, or query string on GET) and return its next five runs."""
    data = dict(request.GET.items()) if request.method == "GET" else read_json(request)
    if not isinstance(data, dict):
        raise Invalid("The request body must be a JSON object.", code="malformed_json")
    if isinstance(data.get("schedule_config"), dict) and len(data) == 1:
        data = data["schedule_config"]
    return {"schedule": schedule_preview(data=data)}

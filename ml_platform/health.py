"""Health check for the load balancer / Cloud Run: the app answers and its database is reachable."""
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET


@require_GET
def healthz(request):
    """200 when the database answers a trivial query, 503 otherwise."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # noqa: BLE001 - any database failure means unhealthy
        return JsonResponse({"status": "error", "message": "database unreachable"}, status=503)
    return JsonResponse({"status": "success"})


class HealthCheckMiddleware:
    """Answer /healthz before host validation and the HTTPS redirect: probes call it by IP over plain HTTP."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == "/healthz" and request.method == "GET":
            return healthz(request)
        return self.get_response(request)

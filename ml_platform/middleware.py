"""Request id: taken from Cloud Run's trace header or generated, attached to the request and every log line."""
import contextvars
import logging
import uuid

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


def current_request_id() -> str:
    """The id of the request being served, or '-' outside a request."""
    return _request_id.get()


class RequestIdMiddleware:
    """Give every request an id, expose it as X-Request-ID and in logs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        trace = request.headers.get("X-Cloud-Trace-Context", "").split("/")[0]
        request_id = trace if trace.isalnum() and len(trace) <= 64 else uuid.uuid4().hex
        request.request_id = request_id
        token = _request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response["X-Request-ID"] = request_id
        return response


class RequestIdLogFilter(logging.Filter):
    """Add `request_id` to every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        return True

"""JSON plumbing shared by every API: body parsing, the success/error envelopes, and one decorator.

Success: {"status": "success", ...}. Error: {"status": "error", "message", "code", "errors": {field: [...]}}.
"""
import functools
import json
import logging
from typing import Any, TypeVar

from django.http import Http404, HttpRequest, JsonResponse
from pydantic import BaseModel, ValidationError

from ml_platform.utils.errors import ApplicationError, Invalid

logger = logging.getLogger(__name__)
SchemaT = TypeVar("SchemaT", bound=BaseModel)
MAX_JSON_BODY_BYTES = 2 * 1024 * 1024


def success(payload: dict[str, Any] | None = None, *, status: int = 200) -> JsonResponse:
    """The success envelope."""
    return JsonResponse({"status": "success", **(payload or {})}, status=status)


def error_response(message: str, *, status: int, code: str, errors: dict | None = None,
                   extra: dict | None = None) -> JsonResponse:
    """The error envelope."""
    body = {"status": "error", "message": message, "code": code, "errors": errors or {}, **(extra or {})}
    return JsonResponse(body, status=status)


def validation_errors(exc: ValidationError) -> dict[str, list[str]]:
    """pydantic errors as {"field.path": ["message", ...]}; whole-body errors go under "__all__"."""
    errors: dict[str, list[str]] = {}
    for item in exc.errors(include_url=False, include_input=False):
        location = ".".join(str(part) for part in item["loc"]) or "__all__"
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "Unknown field."
        elif item["type"] == "missing":
            message = "This field is required."
        errors.setdefault(location, []).append(message.removeprefix("Value error, "))
    return errors


def read_json(request: HttpRequest) -> Any:
    """The request body as JSON; an empty body is {}. Malformed or oversized bodies raise Invalid."""
    if len(request.body) > MAX_JSON_BODY_BYTES:
        raise Invalid("The request body is too large.", code="body_too_large")
    if not request.body.strip():
        return {}
    try:
        return json.loads(request.body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        raise Invalid("The request body is not valid JSON.", code="malformed_json") from exc


def parse_body(request: HttpRequest, schema: type[SchemaT]) -> SchemaT:
    """Validate the JSON body against a pydantic model (raises ValidationError / Invalid)."""
    data = read_json(request)
    if not isinstance(data, dict):
        raise Invalid("The request body must be a JSON object.", code="malformed_json")
    return schema.model_validate(data)


def parse_query(request: HttpRequest, schema: type[SchemaT]) -> SchemaT:
    """Validate query-string parameters against a pydantic model."""
    return schema.model_validate({key: request.GET.get(key) for key in request.GET})


def json_api(view):
    """Render dict results as success JSON and every ApplicationError / ValidationError / 404 as error JSON."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            result = view(request, *args, **kwargs)
        except ApplicationError as exc:
            return error_response(exc.message, status=exc.status_code, code=exc.code, errors=exc.errors,
                                  extra=exc.extra)
        except ValidationError as exc:
            return error_response("Some fields are invalid.", status=400, code="invalid",
                                  errors=validation_errors(exc))
        except Http404:
            return error_response("Not found.", status=404, code="not_found")
        if isinstance(result, dict):
            return success(result)
        return result

    return wrapper

"""One exception tree for the whole app: raise anywhere, rendered once by `json_api`."""


class ApplicationError(Exception):
    """A failure the caller can understand: a message, a machine code and optional field errors."""

    status_code = 400
    code = "error"

    def __init__(self, message: str, *, errors: dict[str, list[str]] | None = None, code: str | None = None,
                 extra: dict | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}
        self.extra = extra or {}
        if code:
            self.code = code


class Invalid(ApplicationError):
    status_code = 400
    code = "invalid"


class Unauthorized(ApplicationError):
    status_code = 401
    code = "unauthorized"


class PermissionDenied(ApplicationError):
    status_code = 403
    code = "forbidden"


class NotFound(ApplicationError):
    status_code = 404
    code = "not_found"


class Conflict(ApplicationError):
    status_code = 409
    code = "conflict"


class NotImplementedYet(ApplicationError):
    status_code = 501
    code = "not_implemented"


class ExternalServiceError(ApplicationError):
    """A backend we depend on (launcher, scheduler, secret store) refused or failed."""

    status_code = 502
    code = "external_service_error"

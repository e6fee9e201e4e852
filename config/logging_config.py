"""Logging: readable lines locally, JSON lines with Cloud Logging fields in production."""


def build_logging(*, json_lines: bool, level: str) -> dict:
    """Return Django's LOGGING dict; every record carries the request id."""
    formatter = (
        {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(message)s %(name)s %(request_id)s",
            "rename_fields": {"levelname": "severity", "name": "logger"},
        }
        if json_lines
        else {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "ml_platform.middleware.RequestIdLogFilter"}},
        "formatters": {"default": formatter},
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "default", "filters": ["request_id"]},
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django": {"handlers": ["console"], "level": level, "propagate": False},
            "axes": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        },
    }

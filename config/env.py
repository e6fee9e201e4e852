"""Tiny helpers that read settings from the environment (NAME_FILE means: read NAME from that file)."""
import os

from django.core.exceptions import ImproperlyConfigured


def env_str(name: str, default: str = "") -> str:
    """Value of NAME, or the contents of the file named by NAME_FILE, or the default."""
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        with open(file_path, encoding="utf-8") as handle:
            return handle.read().strip()
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    """Accept exactly 'true' or 'false' (any case); anything else is a configuration error."""
    raw = env_str(name, "")
    if raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered not in ("true", "false"):
        raise ImproperlyConfigured(f"{name} must be 'true' or 'false', got {raw!r}")
    return lowered == "true"


def env_int(name: str, default: int) -> int:
    """Integer value of NAME or the default."""
    raw = env_str(name, "")
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    """Comma-separated list."""
    raw = env_str(name, "")
    if raw == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]

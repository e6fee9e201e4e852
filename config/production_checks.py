"""Refuse to start in production with development-grade settings."""
from django.core.exceptions import ImproperlyConfigured

from config.local_state import DEV_KEY_PREFIX


def assert_safe_production_settings(settings: dict) -> None:
    """Raise ImproperlyConfigured listing every unsafe production setting."""
    problems = []
    key = settings.get("SECRET_KEY", "")
    if len(key) < 50 or key.startswith(("django-insecure", DEV_KEY_PREFIX)) or len(set(key)) < 5:
        problems.append("SECRET_KEY must be set to a long random value (not a development key)")
    if settings.get("DEBUG"):
        problems.append("DEBUG must be false")
    hosts = settings.get("ALLOWED_HOSTS") or []
    if not hosts or any(host in ("*", ".*") or host.startswith("*") for host in hosts):
        problems.append("ALLOWED_HOSTS must list the real host names (no wildcard)")
    if not settings.get("PLATFORM_BASE_URL", "").startswith("https://"):
        problems.append("PLATFORM_BASE_URL must be the public https:// address")
    if problems:
        raise ImproperlyConfigured("Unsafe production settings: " + "; ".join(problems))

"""Who may call the scheduler webhook: Google-signed OIDC ID tokens (Cloud Scheduler) or local HMAC tokens.

Local tokens are Django-signed (SECRET_KEY, a dedicated salt), name one job and one slot and expire quickly.
OIDC tokens are verified with google-auth against the certificates at SCHEDULER_OIDC_CERTS_URL (Google's by
default; tests serve their own): signature, audience, expiry, issuer, and the scheduler's verified email.
"""
import threading
import time as time_module
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.core import signing

from ml_platform.utils.errors import Unauthorized

LOCAL_TOKEN_SALT = "ml_platform.scheduler.webhook"
LOCAL_TOKEN_MAX_AGE_SECONDS = 300
GOOGLE_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"
GOOGLE_ISSUERS = ("accounts.google.com", "https://accounts.google.com")
CERTS_CACHE_SECONDS = 300
CLOCK_SKEW_SECONDS = 10


@dataclass(frozen=True)
class SchedulerCaller:
    """A verified delivery: which mechanism, and the slot the token itself names (local tokens only)."""

    kind: str
    slot: datetime | None = None


def local_token_mint(*, job_id: int, slot: datetime) -> str:
    """A short-lived token for one webhook delivery of one job's slot."""
    payload = {"job": int(job_id), "slot": slot.astimezone(UTC).isoformat()}
    return signing.dumps(payload, salt=LOCAL_TOKEN_SALT, compress=False)


def local_token_verify(token: str, *, job_id: int) -> SchedulerCaller:
    """The slot named by a valid local token for this job; Unauthorized otherwise."""
    max_age = getattr(settings, "SCHEDULER_LOCAL_TOKEN_MAX_AGE", LOCAL_TOKEN_MAX_AGE_SECONDS)
    try:
        payload = signing.loads(token, salt=LOCAL_TOKEN_SALT, max_age=max_age)
    except signing.BadSignature as exc:  # SignatureExpired is a BadSignature
        raise Unauthorized("The scheduler token is invalid or expired.", code="invalid_token") from exc
    if not isinstance(payload, dict) or payload.get("job") != job_id:
        raise Unauthorized("The scheduler token is not for this job.", code="invalid_token")
    try:
        slot = datetime.fromisoformat(payload["slot"])
    except (KeyError, TypeError, ValueError) as exc:
        raise Unauthorized("The scheduler token is invalid.", code="invalid_token") from exc
    return SchedulerCaller(kind="local", slot=slot)


class _CachingRequest:
    """A google-auth transport that caches certificate responses for a few minutes."""

    _lock = threading.Lock()
    _cache: dict[str, tuple[float, object]] = {}

    def __init__(self):
        import google.auth.transport.requests

        self._inner = google.auth.transport.requests.Request()

    def __call__(self, url, method="GET", **kwargs):
        with self._lock:
            cached = self._cache.get(url)
            if cached and cached[0] > time_module.monotonic() and method == "GET":
                return cached[1]
        response = self._inner(url, method=method, timeout=10, **kwargs)
        if method == "GET" and response.status == 200:
            with self._lock:
                self._cache[url] = (time_module.monotonic() + CERTS_CACHE_SECONDS, response)
        return response

    @classmethod
    def clear(cls) -> None:
        with cls._lock:
            cls._cache.clear()


def clear_certs_cache() -> None:
    """Forget fetched Google certificates (key rotation in tests)."""
    _CachingRequest.clear()


def oidc_token_verify(token: str) -> SchedulerCaller:
    """Verify a Google-signed ID token from Cloud Scheduler; Unauthorized on any failure."""
    from google.auth import exceptions as auth_exc
    from google.oauth2 import id_token

    certs_url = getattr(settings, "SCHEDULER_OIDC_CERTS_URL", "") or GOOGLE_CERTS_URL
    audience = settings.SCHEDULER_OIDC_AUDIENCE
    expected_email = settings.SCHEDULER_SERVICE_ACCOUNT
    if not audience or not expected_email:
        raise Unauthorized("The scheduler webhook is not configured for OIDC.", code="invalid_token")
    try:
        claims = id_token.verify_token(token, _CachingRequest(), audience=audience, certs_url=certs_url,
                                       clock_skew_in_seconds=CLOCK_SKEW_SECONDS)
    except (ValueError, auth_exc.GoogleAuthError) as exc:
        raise Unauthorized("The scheduler token is invalid.", code="invalid_token") from exc
    if claims.get("iss") not in GOOGLE_ISSUERS:
        raise Unauthorized("The scheduler token has the wrong issuer.", code="invalid_token")
    if claims.get("email") != expected_email or claims.get("email_verified") is not True:
        raise Unauthorized("The scheduler token is not from the scheduler's service account.", code="invalid_token")
    return SchedulerCaller(kind="oidc")


def bearer_token(request) -> str:
    """The bearer token of the request; Unauthorized when there is none."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or len(token) > 8192:
        raise Unauthorized("A scheduler token is required.", code="missing_token")
    return token.strip()

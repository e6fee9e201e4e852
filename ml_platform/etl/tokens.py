"""Run tokens: signed, expiring bearer tokens naming one run and its job, handed to the runner."""
from django.conf import settings
from django.core import signing

from ml_platform.utils.errors import Unauthorized

RUN_TOKEN_SALT = "ml_platform.etl.run-token.v1"


def run_token_mint(run) -> str:
    """A token that opens only this run's config and state, valid for RUN_TOKEN_MAX_AGE_SECONDS."""
    return signing.dumps({"run": run.pk, "job": run.data_source_id}, salt=RUN_TOKEN_SALT, compress=False)


def run_token_verify(token: str) -> tuple[int, int]:
    """(run_id, data_source_id) from a token; raises Unauthorized when it is forged, altered or expired."""
    try:
        payload = signing.loads(token, salt=RUN_TOKEN_SALT, max_age=settings.RUN_TOKEN_MAX_AGE_SECONDS)
    except signing.SignatureExpired as exc:
        raise Unauthorized("The run token has expired.", code="token_expired") from exc
    except signing.BadSignature as exc:
        raise Unauthorized("The run token is not valid.", code="invalid_token") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("run"), int):
        raise Unauthorized("The run token is not valid.", code="invalid_token")
    job_id = payload.get("job")
    return payload["run"], job_id if isinstance(job_id, int) else 0

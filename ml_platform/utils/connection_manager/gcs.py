"""Google Cloud Storage source: objects under gs://bucket/prefix (official client; emulator via endpoint_url)."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ml_platform.utils.connection_manager.base import (
    CONNECT_TIMEOUT_SECONDS,
    MAX_LISTED_FILES,
    READ_TIMEOUT_SECONDS,
    SourceNotFound,
    TestResult,
    google_credentials,
)
from ml_platform.utils.connection_manager.files import BucketFileAdapter

TIMEOUT = (CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS)


def _retry():
    """The client's default retry, bounded so a dead endpoint fails in seconds, not minutes."""
    from google.cloud.storage.retry import DEFAULT_RETRY

    return DEFAULT_RETRY.with_timeout(CONNECT_TIMEOUT_SECONDS)


class GCSAdapter(BucketFileAdapter):
    """Lists with the bucket's prefix; reads byte ranges with ranged downloads."""

    kind = "gcs"
    scheme = "gs"


    def client(self):
        if self._client is None:
            from google.cloud import storage

            options = {"api_endpoint": self.params["endpoint_url"]} if self.params.get("endpoint_url") else None
            self._client = storage.Client(project=self.params.get("project_id") or "unused-project",
                                          credentials=google_credentials(self.secrets, self.params),
                                          client_options=options)
        return self._client

    def call(self, fn, *args, **kwargs):
        """Run one client call, turning Google errors into readable SourceErrors."""
        from google.api_core import exceptions as gexc
        from google.auth import exceptions as auth_exc

        try:
            return fn(*args, **kwargs)
        except gexc.RetryError:
            raise self.fail(f"Host unreachable: Google Cloud Storage did not answer within "
                            f"{CONNECT_TIMEOUT_SECONDS} s.") from None
        except gexc.NotFound:
            raise SourceNotFound(f"Bucket or object not found in gs://{self.bucket_name}.") from None
        except gexc.Forbidden:
            raise self.fail(f"Access denied to bucket gs://{self.bucket_name}.", code="auth") from None
        except gexc.Unauthorized:
            raise self.fail("The credentials were rejected by Google Cloud Storage.", code="auth") from None
        except (gexc.GoogleAPIError, auth_exc.GoogleAuthError, OSError) as exc:
            raise self.fail(f"Google Cloud Storage error: {str(exc)[:300]}") from None

    def test(self) -> TestResult:
        bucket = self.call(self.client().get_bucket, self.bucket_name, timeout=TIMEOUT, retry=_retry())
        blobs = self.call(lambda: list(self.client().list_blobs(bucket, prefix=self.base, max_results=1,
                                                                 timeout=TIMEOUT, retry=_retry())))
        return TestResult(True, f"Bucket gs://{bucket.name} is readable.", {"has_files": bool(blobs)})

    def objects(self, prefix: str) -> Iterator[dict[str, Any]]:
        blobs = self.call(lambda: list(self.client().list_blobs(
            self.bucket_name, prefix=self.base + prefix, max_results=MAX_LISTED_FILES + 1, timeout=TIMEOUT,
            retry=_retry())))
        for blob in blobs:
            if blob.name.endswith("/"):
                continue
            yield {"path": blob.name[len(self.base):], "size": blob.size or 0,
                   "modified": blob.updated.isoformat() if blob.updated else None}

    def read_range(self, path: str, start: int, length: int) -> bytes:
        blob = self.client().bucket(self.bucket_name).blob(self.base + path)
        return self.call(blob.download_as_bytes, start=start, end=start + length - 1, timeout=TIMEOUT,
                         retry=_retry())

    def size(self, path: str) -> int:
        blob = self.call(self.client().bucket(self.bucket_name).get_blob, self.base + path, timeout=TIMEOUT,
                         retry=_retry())
        if blob is None:
            raise SourceNotFound(f"File '{path[:300]}' was not found.")
        return blob.size or 0



"""Azure Blob Storage source: blobs under az://container/prefix (account key, SAS token or connection string)."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from ml_platform.utils.connection_manager.base import (
    CONNECT_TIMEOUT_SECONDS,
    MAX_LISTED_FILES,
    READ_TIMEOUT_SECONDS,
    SourceNotFound,
    TestResult,
)
from ml_platform.utils.connection_manager.files import BucketFileAdapter

# The SDK logs every request URL and header set at INFO; SAS tokens travel in URLs, so keep it quiet.
logging.getLogger("azure.core.pipeline.policies.http_logging_policy").setLevel(logging.WARNING)
CLIENT_OPTIONS = {"connection_timeout": CONNECT_TIMEOUT_SECONDS, "read_timeout": READ_TIMEOUT_SECONDS,
                  "retry_total": 0}


class AzureBlobAdapter(BucketFileAdapter):
    """azure-storage-blob with short timeouts and one retry; ranged downloads for samples."""

    kind = "azure_blob"
    scheme = "az"


    def container(self):
        if self._client is None:
            from azure.storage.blob import BlobServiceClient

            if self.secrets.get("connection_string"):
                service = BlobServiceClient.from_connection_string(self.secrets["connection_string"],
                                                                   **CLIENT_OPTIONS)
            else:
                account = self.params.get("azure_storage_account") or ""
                url = self.params.get("endpoint_url") or f"https://{account}.blob.core.windows.net"
                credential: Any = self.secrets.get("azure_sas_token")
                if self.secrets.get("azure_account_key"):
                    credential = {"account_name": account, "account_key": self.secrets["azure_account_key"]}
                service = BlobServiceClient(account_url=url, credential=credential, **CLIENT_OPTIONS)
            self._client = service.get_container_client(self.bucket_name)
        return self._client

    def call(self, fn, *args, **kwargs):
        """Run one SDK call, turning Azure errors into readable SourceErrors."""
        from azure.core import exceptions as aexc

        try:
            return fn(*args, **kwargs)
        except aexc.ResourceNotFoundError:
            raise SourceNotFound(f"Container or blob not found: {self.bucket_name}.") from None
        except aexc.ClientAuthenticationError:
            raise self.fail("Azure rejected the credentials (account key, SAS token or connection string).",
                            code="auth") from None
        except aexc.HttpResponseError as exc:
            if exc.status_code in (401, 403):
                raise self.fail("Azure rejected the credentials (account key, SAS token or connection string).",
                                code="auth") from None
            raise self.fail(f"Azure Blob Storage error: {str(exc).splitlines()[0][:300]}") from None
        except aexc.ServiceRequestError as exc:
            raise self.fail(f"Host unreachable: {str(exc)[:200]}") from None
        except (aexc.AzureError, ValueError) as exc:
            raise self.fail(f"Azure Blob Storage error: {str(exc).splitlines()[0][:300]}") from None

    def test(self) -> TestResult:
        self.call(self.container().get_container_properties)
        first = self.call(lambda: next(iter(self.container().list_blobs(name_starts_with=self.base or None,
                                                                         results_per_page=1)), None))
        return TestResult(True, f"Container {self.bucket_name} is readable.", {"has_files": first is not None})

    def objects(self, prefix: str) -> Iterator[dict[str, Any]]:
        def collect():
            found = []
            for blob in self.container().list_blobs(name_starts_with=(self.base + prefix) or None):
                found.append(blob)
                if len(found) > MAX_LISTED_FILES:
                    break
            return found

        for blob in self.call(collect):
            yield {"path": blob.name[len(self.base):], "size": blob.size or 0,
                   "modified": blob.last_modified.isoformat() if blob.last_modified else None}

    def read_range(self, path: str, start: int, length: int) -> bytes:
        blob = self.container().get_blob_client(self.base + path)
        return self.call(lambda: blob.download_blob(offset=start, length=length).readall())

    def size(self, path: str) -> int:
        blob = self.container().get_blob_client(self.base + path)
        return self.call(blob.get_blob_properties).size


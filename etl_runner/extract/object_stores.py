"""Object stores behind the file sources: list a prefix, open one object version for reading.

Each store lists objects as `FileInfo` (path = full URI, size, generation/etag, modified time) and
opens one object as a seekable, buffered reader that fetches byte ranges on demand and is pinned to
the listed version (GCS generation, S3/Azure ETag), so a file replaced mid-read fails loudly
instead of mixing two versions. Cloud SDKs are imported inside the stores that need them.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Protocol
from urllib.parse import urlparse

import pyarrow as pa

from etl_runner.extract.base import FileInfo, SourceError

READ_BUFFER = 8 * 1024 * 1024  # bytes fetched per ranged request


class ObjectStore(Protocol):
    def list(self, prefix: str) -> Iterator[FileInfo]:
        """Every object whose key starts with `prefix` (relative to the store's root)."""
        ...

    def open(self, file: FileInfo) -> BinaryIO:
        """A seekable reader of exactly the listed version of `file`."""
        ...

    def relative(self, file: FileInfo) -> str:
        """`file`'s key relative to the store's root prefix (what patterns match against)."""
        ...


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def split_bucket_path(bucket_path: str, schemes: tuple[str, ...]) -> tuple[str, str]:
    """'gs://bucket/some/prefix' -> ('bucket', 'some/prefix'); SourceError if malformed."""
    parsed = urlparse(bucket_path or "")
    if parsed.scheme not in schemes or not parsed.netloc:
        raise SourceError(f"bucket path {bucket_path!r} must look like {schemes[0]}://bucket/prefix")
    return parsed.netloc, parsed.path.lstrip("/")


def join_prefix(root: str, prefix: str) -> str:
    """Join the connection's root prefix and the table's prefix with exactly one '/'."""
    if not root:
        return prefix.lstrip("/")
    return root.rstrip("/") + "/" + prefix.lstrip("/") if prefix else root.rstrip("/") + "/"


class RangeReader(io.RawIOBase):
    """Read-only seekable raw stream over `fetch(start, length) -> bytes` of a `size`-byte object."""

    def __init__(self, size: int, fetch: Callable[[int, int], bytes]):
        self._size, self._fetch, self._pos = size, fetch, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        want = min(len(buffer), self._size - self._pos)
        if want <= 0:
            return 0
        data = self._fetch(self._pos, want)
        if len(data) != want:
            raise OSError(f"short read: wanted {want} bytes at {self._pos}, got {len(data)}")
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


def buffered(size: int, fetch: Callable[[int, int], bytes]) -> BinaryIO:
    return io.BufferedReader(RangeReader(size, fetch), buffer_size=READ_BUFFER)


class LocalStore:
    """A folder on local disk; paths are absolute POSIX paths."""

    def __init__(self, root: str):
        if not root:
            raise SourceError("local_files source needs params.path (the root folder)")
        self.root = Path(root).expanduser().resolve()
        if not self.root.is_dir():
            raise SourceError(f"folder {self.root} does not exist")

    def list(self, prefix: str) -> Iterator[FileInfo]:
        prefix = prefix.lstrip("/")
        start = self.root / prefix.rsplit("/", 1)[0] if "/" in prefix else self.root
        for dirpath, dirnames, filenames in os.walk(start):
            dirnames.sort()
            for name in sorted(filenames):
                full = Path(dirpath) / name
                rel = full.relative_to(self.root).as_posix()
                if not rel.startswith(prefix) or name.startswith("."):
                    continue
                st = full.stat()
                modified = datetime.fromtimestamp(st.st_mtime, tz=UTC)
                yield FileInfo(path=full.as_posix(), size=st.st_size, modified_at=_iso(modified))

    def relative(self, file: FileInfo) -> str:
        return Path(file.path).relative_to(self.root).as_posix()

    def open(self, file: FileInfo) -> pa.NativeFile:
        """Arrow's own file: parsers read it without the GIL or a copy through Python bytes."""
        return pa.OSFile(file.path, "rb")


class GCSStore:
    """A GCS bucket path `gs://bucket/prefix`; honours STORAGE_EMULATOR_HOST / params.endpoint_url."""

    def __init__(self, params: dict, secrets: dict):
        from google.cloud import storage

        self.bucket_name, self.root = split_bucket_path(params.get("bucket_path", ""), ("gs",))
        options: dict[str, Any] = {}
        endpoint = params.get("endpoint_url") or os.environ.get("STORAGE_EMULATOR_HOST")
        if endpoint:
            options["client_options"] = {"api_endpoint": endpoint}
        sa_json = secrets.get("service_account_json")
        if sa_json:
            from google.oauth2 import service_account

            info = json.loads(sa_json)
            options["credentials"] = service_account.Credentials.from_service_account_info(info)
            options["project"] = params.get("project_id") or info.get("project_id")
        elif endpoint:
            from google.auth.credentials import AnonymousCredentials

            options["credentials"] = AnonymousCredentials()
            options["project"] = params.get("project_id") or "emulator"
        self.client = storage.Client(**options)
        self.bucket = self.client.bucket(self.bucket_name)

    def list(self, prefix: str) -> Iterator[FileInfo]:
        for blob in self.client.list_blobs(self.bucket_name, prefix=join_prefix(self.root, prefix)):
            if blob.name.endswith("/"):
                continue  # folder placeholder
            yield FileInfo(
                path=f"gs://{self.bucket_name}/{blob.name}",
                size=int(blob.size or 0),
                generation=str(blob.generation) if blob.generation else None,
                etag=blob.etag,
                modified_at=_iso(blob.updated),
            )

    def relative(self, file: FileInfo) -> str:
        return _relative_key(file.path, self.root)

    def open(self, file: FileInfo) -> BinaryIO:
        key = urlparse(file.path).path.lstrip("/")
        generation = int(file.generation) if file.generation else None
        blob = self.bucket.blob(key, generation=generation)

        def fetch(start: int, length: int) -> bytes:
            return blob.download_as_bytes(start=start, end=start + length - 1, checksum=None)

        return buffered(file.size, fetch)


class S3Store:
    """An S3 bucket path `s3://bucket/prefix`; params.endpoint_url for S3-compatible servers."""

    def __init__(self, params: dict, secrets: dict):
        import boto3

        self.bucket_name, self.root = split_bucket_path(params.get("bucket_path", ""), ("s3", "s3a"))
        self.client = boto3.client(
            "s3",
            endpoint_url=params.get("endpoint_url") or None,
            region_name=params.get("aws_region") or None,
            aws_access_key_id=secrets.get("aws_access_key_id") or None,
            aws_secret_access_key=secrets.get("aws_secret_access_key") or None,
        )

    def list(self, prefix: str) -> Iterator[FileInfo]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket_name, Prefix=join_prefix(self.root, prefix)):
            for obj in page.get("Contents", []):
                if obj["Key"].endswith("/"):
                    continue
                yield FileInfo(
                    path=f"s3://{self.bucket_name}/{obj['Key']}",
                    size=int(obj["Size"]),
                    etag=obj.get("ETag", "").strip('"') or None,
                    modified_at=_iso(obj.get("LastModified")),
                )

    def relative(self, file: FileInfo) -> str:
        return _relative_key(file.path, self.root)

    def open(self, file: FileInfo) -> BinaryIO:
        key = urlparse(file.path).path.lstrip("/")
        extra = {"IfMatch": f'"{file.etag}"'} if file.etag else {}

        def fetch(start: int, length: int) -> bytes:
            byte_range = f"bytes={start}-{start + length - 1}"
            response = self.client.get_object(Bucket=self.bucket_name, Key=key, Range=byte_range, **extra)
            return response["Body"].read()

        return buffered(file.size, fetch)


def _azure_container_path(params: dict) -> tuple[str, str]:
    """Container and root prefix from params.container or bucket_path (az://, azure://, abfs[s]://)."""
    bucket_path = params.get("bucket_path") or ""
    if params.get("container"):
        return params["container"], bucket_path.strip("/")
    parsed = urlparse(bucket_path)
    if parsed.scheme in ("abfs", "abfss") and "@" in parsed.netloc:
        return parsed.netloc.split("@", 1)[0], parsed.path.lstrip("/")
    if parsed.scheme in ("az", "azure", "wasb", "wasbs") and parsed.netloc:
        return parsed.netloc, parsed.path.lstrip("/")
    if not parsed.scheme and bucket_path.strip("/"):
        container, _, root = bucket_path.strip("/").partition("/")
        return container, root
    raise SourceError(f"Azure path {bucket_path!r} must look like az://container/prefix")


class AzureBlobStore:
    """An Azure Blob container (az://container/prefix) by connection string, account key or SAS."""

    def __init__(self, params: dict, secrets: dict):
        from azure.storage.blob import BlobServiceClient

        self.container_name, self.root = _azure_container_path(params)
        account = params.get("azure_storage_account")
        if secrets.get("connection_string"):
            service = BlobServiceClient.from_connection_string(secrets["connection_string"])
        else:
            url = params.get("endpoint_url") or f"https://{account}.blob.core.windows.net"
            credential: Any = None
            if secrets.get("azure_account_key"):
                credential = {"account_name": account, "account_key": secrets["azure_account_key"]}
            elif secrets.get("azure_sas_token"):
                credential = secrets["azure_sas_token"].lstrip("?")
            service = BlobServiceClient(account_url=url, credential=credential)
        self.container = service.get_container_client(self.container_name)

    def list(self, prefix: str) -> Iterator[FileInfo]:
        for blob in self.container.list_blobs(name_starts_with=join_prefix(self.root, prefix)):
            if blob.name.endswith("/"):
                continue
            yield FileInfo(
                path=f"az://{self.container_name}/{blob.name}",
                size=int(blob.size or 0),
                generation=getattr(blob, "version_id", None),
                etag=(blob.etag or "").strip('"') or None,
                modified_at=_iso(blob.last_modified),
            )

    def relative(self, file: FileInfo) -> str:
        return _relative_key(file.path, self.root)

    def open(self, file: FileInfo) -> BinaryIO:
        from azure.core import MatchConditions

        blob = self.container.get_blob_client(urlparse(file.path).path.lstrip("/"))
        condition = {"etag": f'"{file.etag}"', "match_condition": MatchConditions.IfNotModified} if file.etag else {}

        def fetch(start: int, length: int) -> bytes:
            return blob.download_blob(offset=start, length=length, **condition).readall()

        return buffered(file.size, fetch)


def _relative_key(uri: str, root: str) -> str:
    key = urlparse(uri).path.lstrip("/")
    root = root.rstrip("/")
    return key[len(root) + 1 :] if root and key.startswith(root + "/") else key


def open_store(kind: str, params: dict, secrets: dict) -> ObjectStore:
    """The store for a file source kind; cloud SDK errors at construction become SourceError."""
    if kind == "local_files":
        return LocalStore(params.get("path", ""))
    factories = {"gcs": GCSStore, "s3": S3Store, "azure_blob": AzureBlobStore}
    if kind not in factories:
        raise SourceError(f"{kind!r} is not a file source")
    try:
        return factories[kind](params, secrets)
    except (SourceError, ImportError):
        raise
    except Exception as exc:  # noqa: BLE001 - SDKs raise many types for bad credentials
        raise SourceError(f"could not connect to {kind}: {type(exc).__name__}: {exc}") from exc

"""The common interface of every source adapter, its result shapes and shared helpers.

An adapter is built from a connection's non-secret params and its resolved secrets. Every failure it
raises is a `SourceError` with a sentence a user can act on; secret values never appear in it.
"""
from __future__ import annotations

import datetime as dt
import decimal
import fnmatch
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from ml_platform.utils import schema_mapper

CONNECT_TIMEOUT_SECONDS = 10
READ_TIMEOUT_SECONDS = 20
SAMPLE_ROWS = 20
MAX_LISTED_FILES = 10_000
MASK = "********"
CURSOR_NAME_HINTS = ("updated_at", "modified_at", "last_modified", "last_updated", "updated", "modified",
                     "changed_at", "update_time", "created_at", "inserted_at", "created", "event_time", "timestamp")


class SourceError(Exception):
    """A readable failure talking to a source (unreachable, refused, not found, unreadable)."""

    def __init__(self, message: str, *, code: str = "source_error"):
        super().__init__(message)
        self.message = message
        self.code = code


class SourceNotFound(SourceError):
    """A schema, table, collection or file named in the request does not exist in the source."""

    def __init__(self, message: str):
        super().__init__(message, code="not_found")


@dataclass
class TestResult:
    """What a connection test found: a sentence plus small facts (server version, counts)."""

    ok: bool
    message: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Column:
    """A source column with its proposed warehouse types."""

    name: str
    source_type: str
    nullable: bool = True
    primary_key: bool = False
    warehouse: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.source_type, "source_type": self.source_type,
                "bigquery_type": self.warehouse.get("bigquery"), "duckdb_type": self.warehouse.get("duckdb"),
                "nullable": self.nullable, "primary_key": self.primary_key}


class Adapter:
    """Base of all adapters: holds params and secrets, masks secrets out of messages."""

    kind = ""

    def __init__(self, params: dict[str, Any], secrets: dict[str, str]):
        self.params = params
        self.secrets = {key: value for key, value in secrets.items() if value}

    def scrub(self, text: str) -> str:
        """The text with every secret value replaced by the mask."""
        for value in self.secrets.values():
            if value and len(value) >= 4:
                text = text.replace(value, MASK)
        return text

    def fail(self, message: str, *, code: str = "source_error") -> SourceError:
        return SourceError(self.scrub(message), code=code)

    def columns(self, raw: list[tuple[str, str, bool, bool]]) -> list[Column]:
        """Columns from (name, source type, nullable, primary key) tuples, with warehouse types."""
        return [Column(name, source_type, nullable, pk, schema_mapper.map_type(self.kind, source_type))
                for name, source_type, nullable, pk in raw]

    def test(self) -> TestResult:
        raise NotImplementedError


def recommend_cursor(columns: list[Column]) -> str | None:
    """The best incremental cursor: a well-named timestamp column, else a single integer primary key."""
    temporal = [c for c in columns if c.warehouse.get("bigquery") in ("TIMESTAMP", "DATETIME", "DATE")]
    for hint in CURSOR_NAME_HINTS:
        for column in temporal:
            if column.name.lower() == hint:
                return column.name
    if temporal:
        return temporal[0].name
    keys = [c for c in columns if c.primary_key]
    if len(keys) == 1 and keys[0].warehouse.get("bigquery") == "INT64":
        return keys[0].name
    return None


def table_preview(columns: list[Column], rows: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """The preview answer shared by every table-like source."""
    cursor = recommend_cursor(columns)
    payload = [dict(c.as_dict(), is_cursor_candidate=c.name == cursor) for c in columns]
    return {"columns": payload, "primary_key": [c.name for c in columns if c.primary_key],
            "recommended_cursor_column": cursor, "sample_rows": [jsonable_row(r) for r in rows[:SAMPLE_ROWS]],
            **extra}


def jsonable(value: Any) -> Any:
    """A JSON-friendly form of a driver value (decimals, times, bytes, uuids as strings)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        return raw.hex() if len(raw) <= 64 else raw[:64].hex() + "..."
    if isinstance(value, (decimal.Decimal, uuid.UUID, dt.timedelta)):
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    return str(value)


def jsonable_row(row: dict[str, Any]) -> dict[str, Any]:
    return {str(key): jsonable(value) for key, value in row.items()}


def fingerprint(columns: list[tuple[str, str]]) -> str:
    """A stable short hash of (name, type) pairs, to notice schema changes between files."""
    text = json.dumps([[name, kind] for name, kind in columns], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def match_pattern(name: str, pattern: str) -> bool:
    """Glob match on the file's base name (or full relative path when the pattern has a slash)."""
    if not pattern:
        return True
    target = name if "/" in pattern else name.rsplit("/", 1)[-1]
    return fnmatch.fnmatchcase(target, pattern)


def paginate(files: list[dict[str, Any]], page: int, page_size: int, truncated: bool) -> dict[str, Any]:
    """Newest first, one page, with totals."""
    files.sort(key=lambda f: (f.get("modified") or "", f["path"]), reverse=True)
    start = (page - 1) * page_size
    chunk = files[start:start + page_size]
    return {"files": chunk, "page": page, "page_size": page_size, "total": len(files),
            "has_more": start + page_size < len(files), "truncated": truncated}


def check_identifier(name: str, known: list[str], what: str) -> str:
    """The name if the catalog knows it; otherwise SourceNotFound (names never reach SQL unchecked)."""
    if name in known:
        return name
    raise SourceNotFound(f"{what} '{name[:200]}' was not found.")


def split_bucket_path(bucket_path: str) -> tuple[str, str]:
    """'gs://bucket/some/prefix' -> ('bucket', 'some/prefix/'); the prefix acts as the connection's folder."""
    rest = bucket_path.split("://", 1)[-1]
    bucket, _, prefix = rest.partition("/")
    prefix = prefix.strip("/")
    return bucket, f"{prefix}/" if prefix else ""


def google_credentials(secrets: dict[str, str], params: dict[str, Any], scopes: list[str] | None = None):
    """Service-account credentials from the JSON secret; anonymous against an emulator; else the default."""
    import json as _json

    raw = secrets.get("service_account_json")
    if raw:
        from google.oauth2 import service_account

        try:
            return service_account.Credentials.from_service_account_info(_json.loads(raw), scopes=scopes)
        except (ValueError, KeyError) as exc:
            raise SourceError(f"The service-account JSON is not usable: {type(exc).__name__}.",
                              code="invalid") from None
    if params.get("endpoint_url"):
        from google.auth.credentials import AnonymousCredentials

        return AnonymousCredentials()
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    try:
        credentials, _ = google.auth.default(scopes=scopes)
    except DefaultCredentialsError:
        raise SourceError("No service-account JSON was given and no default Google credentials are "
                          "available on this server.", code="auth") from None
    return credentials

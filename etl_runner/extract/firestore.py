"""Firestore source: a collection's documents as flat Arrow rows, incremental on an update-time field.

Each document becomes one row: `document_id`, then one column per top-level field. Nested values
(maps, arrays, geo points) become JSON text; references become their path. Firestore has no schema,
so the documents are streamed once to a temporary JSON-lines spill file while the column types are
collected over ALL documents; the spill is then read back in batches with one fixed schema (a field
that is sometimes an integer and sometimes a float is FLOAT64; any other mix is STRING). Memory stays
bounded by the batch size; disk holds one copy of the documents read.

Incremental: `cursor_column` is a document field (typically an update timestamp the application
writes); only documents with that field past the committed cursor are read, ordered by it.
Emulator: set FIRESTORE_EMULATOR_HOST (the SDK's own switch).
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa

from etl_runner.config import RunOptions, SourceConfig, TableConfig
from etl_runner.extract.base import SourceBase, SourceError
from etl_runner.extract.sqlbase import CursorBounds, cursor_bounds

DOCUMENT_ID = "document_id"
_ARROW = {"int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(), "str": pa.string(),
          "ts": pa.timestamp("us", tz="UTC"), "bytes": pa.binary(), "json": pa.string()}  # fmt: skip


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if hasattr(value, "latitude") and hasattr(value, "longitude"):
        return {"latitude": value.latitude, "longitude": value.longitude}
    if hasattr(value, "path"):
        return value.path
    return str(value)


def encode(value: Any) -> tuple[str, Any]:
    """(kind, JSON-safe value) for one top-level field value."""
    if value is None:
        return "null", None
    if isinstance(value, bool):
        return "bool", value
    if isinstance(value, int):
        return "int", value
    if isinstance(value, float):
        return "float", value
    if isinstance(value, str):
        return "str", value
    if isinstance(value, datetime):
        ts = value if value.tzinfo else value.replace(tzinfo=UTC)
        return "ts", ts.astimezone(UTC).isoformat()
    if isinstance(value, bytes):
        return "bytes", base64.b64encode(value).decode()
    if hasattr(value, "path") and not isinstance(value, (dict, list)):
        return "str", value.path  # DocumentReference
    return "json", json.dumps(value, default=_json_default, ensure_ascii=False, sort_keys=True)


def column_kind(kinds: set[str]) -> str:
    """The one kind a column gets from every kind seen in it."""
    kinds = kinds - {"null"}
    if not kinds:
        return "str"
    if len(kinds) == 1:
        return next(iter(kinds))
    if kinds == {"int", "float"}:
        return "float"
    return "str"


def _as_kind(kind: str, tagged: list | None) -> Any:
    """A spilled (kind, value) pair as a Python value of the column's final kind."""
    if tagged is None or tagged[0] == "null":
        return None
    src, value = tagged
    if kind == "ts":
        return datetime.fromisoformat(value)
    if kind == "bytes":
        return base64.b64decode(value)
    if kind == "float":
        return float(value)
    if kind == "str" and src not in ("str", "json", "ts", "bytes"):
        return json.dumps(value)
    return value


def parse_cursor(bounds: CursorBounds) -> Any:
    """The committed cursor string as the Firestore value to compare with (time, number or text)."""
    text = bounds.value
    try:
        ts = datetime.fromisoformat(text)
        ts = ts if ts.tzinfo else ts.replace(tzinfo=UTC)
        return ts - timedelta(seconds=bounds.lookback_seconds)
    except ValueError:
        pass
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            continue
    return text


class FirestoreSource(SourceBase):
    """Reads the collection named by `table.source_table` (a path such as `users/u1/orders` works)."""

    def __init__(self, source: SourceConfig, options: RunOptions):
        super().__init__(source, options)
        from google.cloud import firestore

        kwargs: dict[str, Any] = {"project": self.params.get("project_id")}
        sa_json = self.secrets.get("service_account_json")
        if sa_json:
            from google.oauth2 import service_account

            kwargs["credentials"] = service_account.Credentials.from_service_account_info(json.loads(sa_json))
        elif os.environ.get("FIRESTORE_EMULATOR_HOST"):
            from google.auth.credentials import AnonymousCredentials

            kwargs["credentials"] = AnonymousCredentials()
        if not kwargs["project"]:
            raise SourceError("firestore source needs params.project_id")
        self.client = firestore.Client(**kwargs)

    def _query(self, table: TableConfig, cursor: str | None) -> Any:
        from google.cloud.firestore_v1.base_query import FieldFilter

        query: Any = self.client.collection(table.source_table)
        bounds = cursor_bounds(table, cursor)
        if table.cursor_column and table.load_mode in ("incremental", "merge"):
            if bounds is not None:
                op = ">=" if bounds.inclusive else ">"
                query = query.where(filter=FieldFilter(table.cursor_column, op, parse_cursor(bounds)))
            query = query.order_by(table.cursor_column)
        return query

    def read_table(self, table: TableConfig, cursor: str | None) -> Iterator[pa.RecordBatch]:
        """Batches of flattened documents past the cursor (see module doc)."""
        with tempfile.TemporaryFile("w+", encoding="utf-8") as spill:
            kinds = self._spill(table, cursor, spill)
            schema = self._schema(table, kinds)
            spill.seek(0)
            yield from self._batches(spill, schema, {n: column_kind(kinds.get(n, set())) for n in schema.names})

    def _spill(self, table: TableConfig, cursor: str | None, spill: Any) -> dict[str, set[str]]:
        from google.api_core.exceptions import GoogleAPICallError

        kinds: dict[str, set[str]] = {}
        try:
            for doc in self._query(table, cursor).stream():
                row = {name: encode(value) for name, value in (doc.to_dict() or {}).items()}
                for name, (kind, _) in row.items():
                    kinds.setdefault(name, set()).add(kind)
                spill.write(json.dumps({DOCUMENT_ID: doc.id, "f": row}, ensure_ascii=False) + "\n")
        except GoogleAPICallError as exc:
            raise SourceError(f"cannot read Firestore collection {table.source_table}: {exc.message}") from None
        return kinds

    @staticmethod
    def _schema(table: TableConfig, kinds: dict[str, set[str]]) -> pa.Schema:
        names = [n for n in (table.columns or sorted(kinds)) if n != DOCUMENT_ID]
        for extra in (table.cursor_column, *table.primary_key):
            if extra and extra != DOCUMENT_ID and extra not in names:
                names.append(extra)
        fields = [pa.field(DOCUMENT_ID, pa.string())]
        fields += [pa.field(n, _ARROW[column_kind(kinds.get(n, set()))]) for n in names]
        return pa.schema(fields)

    def _batches(self, spill: Any, schema: pa.Schema, final: dict[str, str]) -> Iterator[pa.RecordBatch]:
        rows: list[dict] = []
        yielded = False
        for line in spill:
            doc = json.loads(line)
            row = {DOCUMENT_ID: doc[DOCUMENT_ID]}
            for name in schema.names[1:]:
                row[name] = _as_kind(final[name], doc["f"].get(name))
            rows.append(row)
            if len(rows) >= self.batch_size:
                yield pa.RecordBatch.from_pylist(rows, schema=schema)
                rows, yielded = [], True
        if rows or not yielded:
            yield pa.RecordBatch.from_pylist(rows, schema=schema)

    def close(self) -> None:
        self.client.close()

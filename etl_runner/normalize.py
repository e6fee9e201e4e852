"""Normalize: warehouse-safe column names (mapping kept) and exact Arrow types; never changes values.

NULL stays NULL. A value the target type cannot hold exactly fails with NormalizeError naming the
column and the row (1-based, counted over the table's stream).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import pyarrow as pa

DEFAULT_NUMERIC = (38, 9)  # unconstrained PostgreSQL NUMERIC: BigQuery NUMERIC's precision and scale
_SAFE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DECIMAL_TYPE = re.compile(r"^(?:decimal|numeric)\((\d+),(\d+)\)")
_PG_NUMERIC = re.compile(r"^numeric\((\d+)(?:,(\d+))?\)$")
_TIME_TEXT = re.compile(r"^(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$")


class NormalizeError(Exception):
    """A value cannot be represented in the destination type."""


def safe_name(name: str) -> str:
    """A name every warehouse accepts unquoted: [A-Za-z_][A-Za-z0-9_]*, at most 300 characters."""
    if _SAFE_NAME.match(name) and len(name) <= 300:
        return name
    cleaned = re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_") or "column"
    if cleaned[0].isdigit():
        cleaned = "_" + cleaned
    return cleaned[:300]


def column_mapping(names: list[str]) -> dict[str, str]:
    """Source name -> unique warehouse-safe name (unique case-insensitively)."""
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for name in names:
        candidate, n = safe_name(name), 1
        while candidate.lower() in taken:
            n += 1
            candidate = f"{safe_name(name)[:295]}_{n}"
        taken.add(candidate.lower())
        mapping[name] = candidate
    return mapping


def _meta(field: pa.Field, key: str) -> str:
    return (field.metadata or {}).get(key.encode(), b"").decode()


def _decimal_type(precision: int, scale: int) -> pa.DataType:
    return pa.decimal128(precision, scale) if precision <= 38 else pa.decimal256(precision, scale)


def _pg_numeric_type(field: pa.Field) -> pa.DataType:
    """PostgreSQL typmod -> decimal(p, s); unconstrained NUMERIC -> DEFAULT_NUMERIC."""
    typmod = int(_meta(field, "POSTGRESQL:typmod") or -1)
    if typmod < 4:
        return _decimal_type(*DEFAULT_NUMERIC)
    typmod -= 4
    return _decimal_type((typmod >> 16) & 0xFFFF, typmod & 0xFFFF)


def _pg_declared_numeric(type_name: str) -> pa.DataType:
    """'numeric(12,2)' -> decimal(12, 2); 'numeric(5)' -> decimal(5, 0); 'numeric' -> DEFAULT_NUMERIC."""
    m = _PG_NUMERIC.match(type_name)
    if not m:
        return _decimal_type(*DEFAULT_NUMERIC)
    return _decimal_type(int(m.group(1)), int(m.group(2) or 0))


def _time_from_text(arr: pa.Array) -> pa.Array:
    """MySQL TIME text -> time64[us]; values outside 00:00-24:00 raise (reported with their row)."""
    out = []
    for v in arr.to_pylist():
        if v is None:
            out.append(None)
            continue
        m = _TIME_TEXT.match(v)
        if not m or int(m.group(1)) > 23:
            raise ValueError(f"TIME value {v!r} is outside 00:00:00-23:59:59.999999")
        out.append(time(int(m.group(1)), int(m.group(2)), int(m.group(3)), int((m.group(4) or "0").ljust(6, "0"))))
    return pa.array(out, pa.time64("us"))


Converter = Callable[[pa.Array], pa.Array]


def _cast_to(target: pa.DataType) -> Converter:
    return lambda arr: arr.cast(target, safe=True)


def _plan_field(field: pa.Field) -> tuple[pa.DataType, Converter | None]:
    """Target type for one source field and the converter producing it (None = already exact)."""
    t = field.type
    if pg_numeric := _meta(field, "ETL:pg_numeric"):  # PostgreSQL NUMERIC read as text
        target = _pg_declared_numeric(pg_numeric)
        return target, _cast_to(target)
    if getattr(t, "extension_name", None) == "arrow.opaque":
        if getattr(t, "type_name", "") == "numeric":
            target = _pg_numeric_type(field)
            return target, lambda arr: arr.storage.cast(target, safe=True)
        return pa.string(), lambda arr: arr.storage.cast(pa.string())
    mysql_type = _meta(field, "MYSQL:type")
    if mysql_type:
        if m := _DECIMAL_TYPE.match(mysql_type):
            target = _decimal_type(int(m.group(1)), int(m.group(2)))
            return target, _cast_to(target)
        if mysql_type.startswith("time") and not mysql_type.startswith("timestamp"):
            return pa.time64("us"), _time_from_text
        if mysql_type.startswith("timestamp") and pa.types.is_timestamp(t) and t.tz is None:
            target = pa.timestamp(t.unit, tz="UTC")  # read with session time_zone +00:00
            return target, lambda arr: arr.cast(target)
        if mysql_type == "json" and pa.types.is_string(t):
            return pa.json_(), lambda arr: pa.ExtensionArray.from_storage(pa.json_(), arr)
    if pa.types.is_large_string(t):
        return pa.string(), _cast_to(pa.string())
    if pa.types.is_large_binary(t):
        return pa.binary(), _cast_to(pa.binary())
    if pa.types.is_null(t):
        return pa.string(), _cast_to(pa.string())
    return t, None


class Normalizer:
    """Per-table normalizer: fixes the target schema from the first batch, then converts every batch."""

    def __init__(self, source_schema: pa.Schema):
        self.mapping = column_mapping(source_schema.names)
        self._plan = [_plan_field(f) for f in source_schema]
        self.source_schema = source_schema
        self.schema = pa.schema(
            pa.field(self.mapping[f.name], target, nullable=True, metadata={"source_name": f.name})
            for f, (target, _) in zip(source_schema, self._plan, strict=True)
        )
        self.rows_seen = 0

    def __call__(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """The batch with safe names and exact types; NormalizeError names the column and row."""
        if batch.schema.names != self.source_schema.names:
            raise NormalizeError(f"columns changed during the run: {batch.schema.names} != {self.source_schema.names}")
        arrays = []
        for i, (field, (target, convert)) in enumerate(zip(self.source_schema, self._plan, strict=True)):
            arr = batch.column(i)
            if convert is not None:
                arr = self._convert(field.name, arr, convert, target)
            elif arr.type != target:
                arr = self._convert(field.name, arr, _cast_to(target), target)
            arrays.append(arr)
        self.rows_seen += batch.num_rows
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)

    def _convert(self, name: str, arr: pa.Array, convert: Converter, target: pa.DataType) -> pa.Array:
        try:
            return convert(arr)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError, OverflowError) as exc:
            row = self._first_bad_row(arr, convert)
            where = f"row {self.rows_seen + row + 1}" if row is not None else "a row"
            value = arr[row].as_py() if row is not None else None
            raise NormalizeError(
                f"column {name!r} {where}: value {value!r} cannot be represented as {target}: {exc}"
            ) from None

    @staticmethod
    def _first_bad_row(arr: pa.Array, convert: Converter) -> int | None:
        for i in range(len(arr)):
            try:
                convert(arr.slice(i, 1))
            except Exception:  # noqa: BLE001 - locating the failing row only
                return i
        return None


def cursor_string(value: Any) -> str | None:
    """A cursor value as a full-precision string (ISO 8601 for times, exact digits for numbers)."""
    if value is None:
        return None
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def batch_max(batch: pa.RecordBatch, column: str) -> Any:
    """The largest non-null value of `column` in the batch as a Python value (None if all null)."""
    arr = batch.column(batch.schema.get_field_index(column))
    if isinstance(arr.type, pa.BaseExtensionType):
        arr = arr.storage
    import pyarrow.compute as pc  # here: loading it costs ~35 ms that file and full loads never need

    return pc.max(arr).as_py() if len(arr) else None

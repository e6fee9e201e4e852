"""BigQuery schema pieces: Arrow -> BigQuery field mapping, Parquet-ready batches, schema drift.

The google-cloud-bigquery SDK is imported inside the functions that need it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from etl_runner.load.base import WarehouseError

# (from, to) pairs BigQuery can widen in place with ALTER COLUMN SET DATA TYPE.
WIDENINGS = {("INT64", "NUMERIC"), ("INT64", "BIGNUMERIC"), ("INT64", "FLOAT64"),
             ("NUMERIC", "BIGNUMERIC"), ("NUMERIC", "FLOAT64")}  # fmt: skip
_LEGACY = {"INTEGER": "INT64", "FLOAT": "FLOAT64", "BOOLEAN": "BOOL", "RECORD": "STRUCT"}


def quote(name: str) -> str:
    """BigQuery identifier quoting with backticks; names were validated by config/normalize."""
    if not name or "\x00" in name or "`" in name or "\\" in name:
        raise WarehouseError(f"invalid BigQuery identifier {name!r}")
    return f"`{name}`"


def canonical(type_name: str) -> str:
    """Standard SQL spelling of a field type ('INTEGER' -> 'INT64')."""
    return _LEGACY.get(type_name.upper(), type_name.upper())


def _decimal_type(t: pa.Decimal128Type | pa.Decimal256Type, name: str) -> str:
    if t.scale <= 9 and t.precision - t.scale <= 29:
        return "NUMERIC"
    if t.scale <= 38 and t.precision - t.scale <= 38:
        return "BIGNUMERIC"
    raise WarehouseError(f"column {name!r}: decimal({t.precision},{t.scale}) does not fit BigQuery BIGNUMERIC")


def scalar_type(t: pa.DataType, name: str) -> str:
    """The BigQuery type for a non-list, non-struct Arrow type."""
    if getattr(t, "extension_name", None) == "arrow.json":
        return "JSON"
    if isinstance(t, pa.BaseExtensionType):
        return scalar_type(t.storage_type, name)
    if pa.types.is_dictionary(t):
        return scalar_type(t.value_type, name)
    checks = [
        (pa.types.is_boolean, "BOOL"), (pa.types.is_integer, "INT64"), (pa.types.is_floating, "FLOAT64"),
        (pa.types.is_string, "STRING"), (pa.types.is_large_string, "STRING"), (pa.types.is_null, "STRING"),
        (pa.types.is_binary, "BYTES"), (pa.types.is_large_binary, "BYTES"),
        (pa.types.is_fixed_size_binary, "BYTES"), (pa.types.is_date, "DATE"), (pa.types.is_time, "TIME"),
    ]  # fmt: skip
    for check, bq_type in checks:
        if check(t):
            if bq_type == "INT64" and pa.types.is_uint64(t):
                return "NUMERIC"  # uint64 does not fit INT64
            return bq_type
    if pa.types.is_timestamp(t):
        return "TIMESTAMP" if t.tz else "DATETIME"
    if pa.types.is_decimal(t):
        return _decimal_type(t, name)
    raise WarehouseError(f"column {name!r}: Arrow type {t} has no BigQuery equivalent")


def bq_field(field: pa.Field) -> Any:
    """The BigQuery SchemaField for an Arrow field (lists -> REPEATED, structs -> RECORD)."""
    from google.cloud import bigquery

    t, mode = field.type, "NULLABLE"
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        t, mode = t.value_type, "REPEATED"
        if pa.types.is_list(t) or pa.types.is_large_list(t):
            raise WarehouseError(f"column {field.name!r}: BigQuery has no arrays of arrays")
    if pa.types.is_struct(t):
        children = [bq_field(t.field(i)) for i in range(t.num_fields)]
        return bigquery.SchemaField(field.name, "RECORD", mode=mode, fields=children)
    return bigquery.SchemaField(field.name, scalar_type(t, field.name), mode=mode)


def bq_schema(schema: pa.Schema) -> list:
    return [bq_field(f) for f in schema]


def ddl_type(field: Any) -> str:
    """The DDL spelling of a SchemaField's type (ARRAY<...>, STRUCT<...> included)."""
    if canonical(field.field_type) == "STRUCT":
        inner = "STRUCT<" + ", ".join(f"{quote(f.name)} {ddl_type(f)}" for f in field.fields) + ">"
    else:
        inner = canonical(field.field_type)
    return f"ARRAY<{inner}>" if field.mode == "REPEATED" else inner


def parquet_ready_schema(schema: pa.Schema) -> pa.Schema:
    """What is written to the staging Parquet: extension types as their storage, uint64 as decimal."""
    fields = []
    for f in schema:
        t = f.type
        if isinstance(t, pa.BaseExtensionType):
            t = t.storage_type
        if pa.types.is_uint64(t):
            t = pa.decimal128(20, 0)
        if pa.types.is_large_string(t) or pa.types.is_null(t):
            t = pa.string()
        fields.append(pa.field(f.name, t, nullable=True))
    return pa.schema(fields)


def parquet_ready(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    arrays = []
    for col, f in zip(batch.columns, schema, strict=True):
        if isinstance(col.type, pa.BaseExtensionType):
            col = col.storage
        arrays.append(col if col.type == f.type else pc.cast(col, f.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


@dataclass
class DriftPlan:
    """How an existing table must change before the incoming rows fit."""

    added: list[Any]  # SchemaFields to add (NULLABLE)
    widened: list[tuple[str, str]]  # (column, new type)


def plan_drift(existing: list, incoming: list, policy: str, label: str) -> DriftPlan:
    """Compare SchemaField lists: add new columns (policy 'add'), widen safely, else fail."""
    current = {f.name.lower(): f for f in existing}
    added, widened, problems = [], [], []
    for f in incoming:
        old = current.get(f.name.lower())
        if old is None:
            added.append(f)
            continue
        old_t, new_t = canonical(old.field_type), canonical(f.field_type)
        if old.mode == "REPEATED" != f.mode or f.mode == "REPEATED" != old.mode:
            problems.append(f"{f.name}: {old.mode} in the table, {f.mode} in the source")
        elif old_t == new_t or (new_t, old_t) in WIDENINGS:
            continue  # same type, or the incoming values fit the wider existing column
        elif (old_t, new_t) in WIDENINGS:
            widened.append((f.name, new_t))
        else:
            problems.append(f"{f.name}: {old_t} in the table, {new_t} in the source")
    if added and policy == "fail":
        problems.append(f"new source columns {[f.name for f in added]} (schema_drift is 'fail')")
    if problems:
        raise WarehouseError(f"schema of {label} does not fit the source: " + "; ".join(problems))
    return DriftPlan(added, widened)

"""File sources: which listed files to load (the ledger rule), the run's schema over all files, aligning each file."""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa

from etl_runner.config import TableConfig
from etl_runner.extract.base import FileInfo, SourceError
from etl_runner.load.base import ProcessedFile
from etl_runner.normalize import safe_name


def files_to_load(listed: list[FileInfo], ledger: dict[str, ProcessedFile], table: TableConfig) -> list[FileInfo]:
    """New files always; a changed file per `on_changed_file` (reload, skip, fail); unchanged ones never.

    Files are picked by the ledger, not by timestamps, so a late file with an old mtime is still loaded.
    """
    rule = table.file.on_changed_file if table.file else "reload"
    chosen = []
    for info in sorted(listed, key=lambda f: f.path):
        seen = ledger.get(info.path)
        if seen is None:
            chosen.append(info)
        elif not seen.file.same_version(info):
            if rule == "fail":
                raise SourceError(f"file {info.path} changed since it was loaded and on_changed_file is 'fail'")
            if rule == "reload":
                chosen.append(info)
    if table.file and table.file.load_latest_only and chosen:
        chosen = [max(chosen, key=lambda f: (f.modified_at or "", f.path))]
    return chosen


def union_schema(schemas: list[tuple[str, pa.Schema]], schema_drift: str,
                 destination_columns: Iterable[str] = ()) -> pa.Schema:
    """The stream's schema over a run's files, given as (path, schema) in load order.

    Columns: the first file's, then new ones in order of first appearance. A later file's column that
    neither the first file nor the destination table has fails under schema_drift 'fail' (the warehouse
    checks the first file's columns against the destination); under 'add' it joins the stream and files
    without it give NULL.
    A column whose type differs between files takes a type every file's values fit (int32 + int64 ->
    int64, int + float -> double, null -> anything); incompatible types raise SourceError naming both.
    """
    (_, first), *rest = schemas
    fields = {f.name: f for f in first}
    in_destination = set(destination_columns)
    for path, schema in rest:
        new = [n for n in schema.names if n not in fields and safe_name(n) not in in_destination]
        if new and schema_drift == "fail":
            raise SourceError(f"file {path} has columns {new} that neither the run's first file nor the destination "
                              "table has, and schema_drift is 'fail'")
        for f in schema:
            fields[f.name] = _wider_field(fields[f.name], f, path) if f.name in fields else f
    return pa.schema(list(fields.values()))


def _wider_field(known: pa.Field, incoming: pa.Field, path: str) -> pa.Field:
    if known.type == incoming.type:
        return known
    try:
        merged = pa.unify_schemas([pa.schema([known]), pa.schema([incoming])], promote_options="permissive")
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        raise SourceError(
            f"file {path}: column {incoming.name!r} is {incoming.type}, which does not fit {known.type} "
            "from earlier files"
        ) from None
    return known.with_type(merged.field(0).type)


def align_to_schema(batch: pa.RecordBatch, schema: pa.Schema, path: str) -> pa.RecordBatch:
    """Reorder/cast a file's batch to the stream's schema (`union_schema`); missing columns become NULL.

    The cast is safe: a value the wider type cannot hold exactly (e.g. an int64 above 2**53 as double) fails.
    """
    if batch.schema.equals(schema):
        return batch
    extra = [n for n in batch.schema.names if n not in schema.names]
    if extra:  # the file changed between reading its schema and streaming it
        raise SourceError(f"file {path} has columns {extra} not in the table's schema for this run")
    arrays = []
    for f in schema:
        if f.name not in batch.schema.names:
            arrays.append(pa.nulls(batch.num_rows, f.type))
            continue
        col = batch.column(batch.schema.get_field_index(f.name))
        try:
            arrays.append(col if col.type == f.type else col.cast(f.type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise SourceError(f"file {path}: column {f.name!r} does not fit {f.type}: {exc}") from None
    return pa.RecordBatch.from_arrays(arrays, schema=schema)

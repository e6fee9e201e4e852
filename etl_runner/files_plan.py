"""File sources: which listed files to load (the ledger rule) and aligning each file to the table schema."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from etl_runner.config import TableConfig
from etl_runner.extract.base import FileInfo, SourceError
from etl_runner.load.base import ProcessedFile


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


def align_to_schema(batch: pa.RecordBatch, schema: pa.Schema, path: str) -> pa.RecordBatch:
    """Reorder/cast a later file's batch to the first file's columns; missing columns become NULL."""
    if batch.schema.equals(schema):
        return batch
    extra = [n for n in batch.schema.names if n not in schema.names]
    if extra:
        raise SourceError(f"file {path} has columns {extra} not in the table's first file")
    arrays = []
    for f in schema:
        if f.name not in batch.schema.names:
            arrays.append(pa.nulls(batch.num_rows, f.type))
            continue
        col = batch.column(batch.schema.get_field_index(f.name))
        try:
            arrays.append(col if col.type == f.type else pc.cast(col, f.type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise SourceError(f"file {path}: column {f.name!r} does not fit {f.type}: {exc}") from None
    return pa.RecordBatch.from_arrays(arrays, schema=schema)

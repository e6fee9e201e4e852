"""What every file source shares: paged listing (newest first) and schema detection from a bounded sample.

A file adapter only knows how to list objects under a key prefix and read a byte range of one object.
CSV and JSON-lines are sampled from the first `SAMPLE_BYTES` (cut at the last full line); Parquet reads the
footer and the first rows through ranged reads, never the whole file.
"""
from __future__ import annotations

import io
import zlib
from collections.abc import Iterator
from typing import Any

from ml_platform.utils import schema_mapper
from ml_platform.utils.connection_manager.base import (
    MAX_LISTED_FILES,
    SAMPLE_ROWS,
    Adapter,
    Column,
    SourceError,
    fingerprint,
    jsonable,
    match_pattern,
    paginate,
    recommend_cursor,
    split_bucket_path,
)

SAMPLE_BYTES = 1024 * 1024
SAMPLE_VALUES = 5
FORMATS_BY_SUFFIX = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet",
                     ".json": "json", ".jsonl": "json", ".ndjson": "json"}


class FileAdapter(Adapter):
    """Base of local, GCS, S3 and Azure adapters: subclasses implement `objects`, `read_range`, `size`."""

    def objects(self, prefix: str) -> Iterator[dict[str, Any]]:
        """Yield {"path", "size", "modified"} for objects whose relative key starts with prefix."""
        raise NotImplementedError

    def read_range(self, path: str, start: int, length: int) -> bytes:
        raise NotImplementedError

    def size(self, path: str) -> int:
        raise NotImplementedError

    def uri(self, path: str) -> str:
        return path

    def list_files(self, prefix: str = "", pattern: str = "", page: int = 1, page_size: int = 50) -> dict:
        """One page of matching files, newest first; listing stops at MAX_LISTED_FILES."""
        files, truncated = [], False
        for obj in self.objects(prefix):
            if len(files) >= MAX_LISTED_FILES:
                truncated = True
                break
            if match_pattern(obj["path"], pattern):
                files.append({"name": obj["path"].rsplit("/", 1)[-1], "path": obj["path"],
                              "uri": self.uri(obj["path"]), "size": obj["size"], "modified": obj["modified"]})
        return paginate(files, page, page_size, truncated)

    def detect_file_schema(self, path: str, file_format: str = "", options: dict | None = None) -> dict:
        """Columns, types, sample values and a fingerprint, from a bounded sample of one file."""
        options = options or {}
        file_format = file_format or guess_format(path)
        if file_format == "parquet":
            table, total, read = self._parquet_sample(path)
        elif file_format in ("csv", "json"):
            table, read = self._text_sample(path, file_format, options)
            total = None
        else:
            raise SourceError(f"Cannot tell the format of '{path}': choose csv, parquet or json.", code="invalid")
        return describe_arrow(table, file_format=file_format, bytes_read=read, total_rows=total, path=path)

    def _text_sample(self, path: str, file_format: str, options: dict):
        raw = self.read_range(path, 0, SAMPLE_BYTES + 1)
        gz = path.endswith(".gz") or raw[:2] == b"\x1f\x8b"
        data = _gunzip_prefix(raw[:SAMPLE_BYTES]) if gz else raw[:SAMPLE_BYTES]
        if len(raw) > SAMPLE_BYTES or gz:
            cut = data.rfind(b"\n")
            data = data[:cut + 1] if cut > 0 else data
        import pyarrow as pa

        try:
            return (_parse_csv(data, path, options) if file_format == "csv" else _parse_json(data)), len(raw)
        except (pa.ArrowException, ValueError, LookupError) as exc:
            raise SourceError(f"Could not read '{path}' as {file_format.upper()}: {str(exc)[:300]}",
                              code="unreadable") from None

    def _parquet_sample(self, path: str):
        import pyarrow as pa
        import pyarrow.parquet as pq

        reader = RangeReader(self, path, self.size(path))
        try:
            parquet = pq.ParquetFile(reader)
            total = parquet.metadata.num_rows
            batch = next(parquet.iter_batches(batch_size=SAMPLE_ROWS), None)
        except SourceError:
            raise
        except (pa.ArrowException, ValueError, OSError) as exc:  # not Parquet, truncated footer...
            raise SourceError(f"Could not read '{path}' as Parquet: {str(exc)[:300]}", code="unreadable") from None
        table = pa.Table.from_batches([batch]) if batch is not None else parquet.schema_arrow.empty_table()
        return table, total, reader.read_bytes


class RangeReader(io.RawIOBase):
    """A seekable read-only file over an adapter's ranged reads (what pyarrow needs for a Parquet footer)."""

    def __init__(self, adapter: FileAdapter, path: str, size: int):
        self.adapter, self.path, self.length, self.position, self.read_bytes = adapter, path, size, 0, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.length}[whence]
        self.position = max(0, base + offset)
        return self.position

    def readinto(self, buffer) -> int:
        want = min(len(buffer), self.length - self.position)
        if want <= 0:
            return 0
        data = self.adapter.read_range(self.path, self.position, want)
        buffer[:len(data)] = data
        self.position += len(data)
        self.read_bytes += len(data)
        return len(data)


def guess_format(path: str) -> str:
    name = path.lower().removesuffix(".gz")
    for suffix, kind in FORMATS_BY_SUFFIX.items():
        if name.endswith(suffix):
            return kind
    return ""


def _gunzip_prefix(data: bytes) -> bytes:
    try:
        return zlib.decompressobj(wbits=47).decompress(data, SAMPLE_BYTES * 8)
    except zlib.error as exc:
        raise SourceError(f"Could not decompress the file: {exc}.", code="unreadable") from None


def _parse_csv(data: bytes, path: str, options: dict):
    from pyarrow import csv

    delimiter = options.get("delimiter") or ("\t" if path.lower().removesuffix(".gz").endswith(".tsv") else ",")
    has_header = options.get("has_header", True)
    read = csv.ReadOptions(autogenerate_column_names=not has_header, encoding=options.get("encoding") or "utf8")
    return csv.read_csv(io.BytesIO(data), read_options=read, parse_options=csv.ParseOptions(delimiter=delimiter))


def _parse_json(data: bytes):
    from pyarrow import json

    return json.read_json(io.BytesIO(data))


def describe_arrow(table, *, file_format: str, bytes_read: int, total_rows: int | None, path: str) -> dict:
    """The detect-schema answer for an Arrow table sample."""
    columns, payload = [], []
    for arrow_field in table.schema:
        source_type = str(arrow_field.type)
        column = Column(arrow_field.name, source_type, arrow_field.nullable, False,
                        schema_mapper.map_type("arrow", source_type))
        values = [v for v in table.column(arrow_field.name).to_pylist() if v is not None]
        samples = list(dict.fromkeys(str(jsonable(v)) for v in values))[:SAMPLE_VALUES]
        columns.append(column)
        payload.append(dict(column.as_dict(), sample_values=samples))
    rows = [{k: jsonable(v) for k, v in row.items()} for row in table.slice(0, SAMPLE_ROWS).to_pylist()]
    return {"path": path, "format": file_format, "columns": payload, "sample_rows": rows,
            "rows_sampled": table.num_rows, "bytes_read": bytes_read, "total_rows": total_rows,
            "fingerprint": fingerprint([(c.name, c.source_type) for c in columns]),
            "recommended_cursor_column": recommend_cursor(columns)}


class BucketFileAdapter(FileAdapter):
    """Base of the object-store adapters: the bucket (or container) and key prefix from `bucket_path`."""

    scheme = ""  # gs, s3, az: how the ledger and the UI name an object

    def __init__(self, params: dict[str, Any], secrets: dict[str, str]):
        super().__init__(params, secrets)
        self.bucket_name, self.base = split_bucket_path(params.get("bucket_path") or "")
        self._client = None

    def uri(self, path: str) -> str:
        return f"{self.scheme}://{self.bucket_name}/{self.base}{path}"

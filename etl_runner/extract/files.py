"""File sources (local folder, GCS, S3, Azure Blob): list files, stream one file as Arrow batches.

Formats: CSV (delimiter, encoding, header, compression), Parquet (row groups read with
`iter_batches`), JSON lines (`pyarrow.json.open_json`). Every reader is streaming: memory is
bounded by the reader's block size and `options.batch_size`, never the file size. A file that
cannot be read or parsed raises `SourceError` naming it.

Matching: `table.file.prefix` is a key prefix below the connection's root (`params.path` or the
bucket path); `table.file.pattern` is an fnmatch glob matched against the rest of the key after
that prefix (`*` also crosses '/', so `*.csv` finds CSV files in sub-folders too).
"""

from __future__ import annotations

import contextlib
import fnmatch
from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO

import pyarrow as pa

from etl_runner.extract.base import FileInfo, SourceBase, SourceError
from etl_runner.extract.object_stores import ObjectStore, open_store
from etl_runner.extract.sqlbase import rechunk

if TYPE_CHECKING:
    from etl_runner.config import FileOptions, FileTableConfig, RunOptions, SourceConfig, TableConfig

CSV_BLOCK_SIZE = 16 * 1024 * 1024  # CSV/JSON types are inferred from the first block: keep it large
_COMPRESSION_BY_SUFFIX = {".gz": "gzip", ".gzip": "gzip", ".bz2": "bz2", ".zst": "zstd", ".zstd": "zstd", ".lz4": "lz4"}
_COMPRESSION_NAMES = {"gzip", "bz2", "zstd", "lz4", "brotli"}


def compression_for(path: str, setting: str) -> str | None:
    """Arrow codec name for a file: from the suffix when `setting` is 'infer', None for plain."""
    setting = (setting or "infer").lower()
    if setting in ("none", "uncompressed", ""):
        return None
    if setting == "infer":
        lowered = path.lower()
        return next((c for s, c in _COMPRESSION_BY_SUFFIX.items() if lowered.endswith(s)), None)
    if setting == "gz":
        return "gzip"
    if setting not in _COMPRESSION_NAMES:
        raise SourceError(
            f"unsupported compression {setting!r}; use infer, none, {', '.join(sorted(_COMPRESSION_NAMES))}"
        )
    return setting


def _text_stream(raw: BinaryIO, path: str, options: FileOptions) -> pa.NativeFile:
    """Wrap a raw reader in decompression (per the compression setting)."""
    stream = pa.PythonFile(raw, mode="r")
    codec = compression_for(path, options.compression)
    return pa.CompressedInputStream(stream, codec) if codec else stream


def _csv_batches(raw: BinaryIO, path: str, options: FileOptions, columns: list[str]) -> Iterator[pa.RecordBatch]:
    from pyarrow import csv

    if len(options.delimiter) != 1:
        raise SourceError(f"CSV delimiter must be one character, got {options.delimiter!r}")
    read = csv.ReadOptions(
        block_size=CSV_BLOCK_SIZE,
        encoding=options.encoding or "utf-8",
        autogenerate_column_names=not options.has_header,
    )
    parse = csv.ParseOptions(delimiter=options.delimiter, newlines_in_values=True)
    convert = csv.ConvertOptions(include_columns=columns or None, strings_can_be_null=False)
    yield from csv.open_csv(
        _text_stream(raw, path, options), read_options=read, parse_options=parse, convert_options=convert
    )


def _json_batches(raw: BinaryIO, path: str, options: FileOptions, columns: list[str]) -> Iterator[pa.RecordBatch]:
    from pyarrow import json

    stream: pa.NativeFile = _text_stream(raw, path, options)
    encoding = (options.encoding or "utf-8").lower().replace("_", "-")
    if encoding not in ("utf-8", "utf8"):
        stream = pa.transcoding_input_stream(stream, encoding, "utf-8")
    reader = json.open_json(stream, read_options=json.ReadOptions(block_size=CSV_BLOCK_SIZE))
    for batch in reader:
        yield _select(batch, columns, path)


def _parquet_batches(raw: BinaryIO, path: str, batch_size: int, columns: list[str]) -> Iterator[pa.RecordBatch]:
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(pa.PythonFile(raw, mode="r"))
    missing = [c for c in columns if c not in parquet.schema_arrow.names]
    if missing:
        raise SourceError(f"columns {missing} not found in {path}")
    yield from parquet.iter_batches(batch_size=batch_size, columns=columns or None)


def _select(batch: pa.RecordBatch, columns: list[str], path: str) -> pa.RecordBatch:
    if not columns:
        return batch
    missing = [c for c in columns if c not in batch.schema.names]
    if missing:
        raise SourceError(f"columns {missing} not found in {path}")
    return batch.select(columns)


def file_batches(
    raw: BinaryIO, path: str, file_config: FileTableConfig, batch_size: int, columns: list[str]
) -> Iterator[pa.RecordBatch]:
    """Stream one opened file as batches of at most batch_size rows; SourceError names the file."""
    fmt = file_config.format
    try:
        if fmt == "csv":
            batches = _csv_batches(raw, path, file_config.options, columns)
        elif fmt == "json":
            batches = _json_batches(raw, path, file_config.options, columns)
        elif fmt == "parquet":
            batches = _parquet_batches(raw, path, batch_size, columns)
        else:
            raise SourceError(f"unsupported file format {fmt!r}")
        yield from rechunk(batches, batch_size)
    except SourceError:
        raise
    except Exception as exc:  # noqa: BLE001 - Arrow, codecs and SDKs raise many types
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SourceError(f"could not read {fmt} file {path}: {detail}") from exc


class ObjectStoreFileSource(SourceBase):
    """A FileSource over one ObjectStore (see `open_store`)."""

    kind = ""

    def __init__(self, source: SourceConfig, options: RunOptions):
        super().__init__(source, options)
        self.store: ObjectStore = open_store(self.kind or source.kind, dict(self.params), dict(self.secrets))

    def list_files(self, table: TableConfig) -> list[FileInfo]:
        """Files under the table's prefix matching its pattern, sorted by path."""
        spec = _file_spec(table)
        prefix = spec.prefix.lstrip("/")
        try:
            listed = list(self.store.list(prefix))
        except SourceError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise SourceError(f"could not list files under {prefix or '/'}: {type(exc).__name__}: {exc}") from exc
        pattern = spec.pattern or "*"
        matched = [f for f in listed if fnmatch.fnmatchcase(self.store.relative(f)[len(prefix) :], pattern)]
        return sorted(matched, key=lambda f: f.path)

    def read_file(self, table: TableConfig, file: FileInfo) -> Iterator[pa.RecordBatch]:
        """Stream one file (the listed version) as batches; SourceError names the file on failure."""
        spec = _file_spec(table)
        try:
            raw = self.store.open(file)
        except Exception as exc:  # noqa: BLE001
            raise SourceError(f"could not open {file.path}: {type(exc).__name__}: {exc}") from exc
        with contextlib.closing(raw):
            yield from file_batches(raw, file.path, spec, self.batch_size, _wanted_columns(table))


def _file_spec(table: TableConfig) -> FileTableConfig:
    if table.file is None:
        raise SourceError(f"table {table.dest_table} has no file settings")
    return table.file


def _wanted_columns(table: TableConfig) -> list[str]:
    if not table.columns:
        return []
    extra = [c for c in [table.cursor_column, *table.primary_key] if c and c not in table.columns]
    return [*table.columns, *extra]


class LocalFileSource(ObjectStoreFileSource):
    """Files in a local folder (`params.path`)."""

    kind = "local_files"


class GCSFileSource(ObjectStoreFileSource):
    """Objects in `params.bucket_path` = gs://bucket/prefix."""

    kind = "gcs"


class S3FileSource(ObjectStoreFileSource):
    """Objects in `params.bucket_path` = s3://bucket/prefix (params.endpoint_url for S3-compatibles)."""

    kind = "s3"


class AzureBlobFileSource(ObjectStoreFileSource):
    """Blobs in `params.bucket_path` = az://container/prefix."""

    kind = "azure_blob"

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
    import pyarrow.parquet as pq

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
    stream = raw if isinstance(raw, pa.NativeFile) else pa.PythonFile(raw, mode="r")
    codec = compression_for(path, options.compression)
    return pa.CompressedInputStream(stream, codec) if codec else stream


def _csv_reader(raw: BinaryIO, path: str, options: FileOptions, columns: list[str]) -> pa.RecordBatchReader:
    """An open CSV reader: its schema is known once the first block is read (types are inferred there)."""
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
    return csv.open_csv(
        _text_stream(raw, path, options), read_options=read, parse_options=parse, convert_options=convert
    )


def _json_reader(raw: BinaryIO, path: str, options: FileOptions) -> pa.RecordBatchReader:
    """An open JSON-lines reader: its schema is inferred from the first block."""
    from pyarrow import json

    stream: pa.NativeFile = _text_stream(raw, path, options)
    encoding = (options.encoding or "utf-8").lower().replace("_", "-")
    if encoding not in ("utf-8", "utf8"):
        stream = pa.transcoding_input_stream(stream, encoding, "utf-8")
    return json.open_json(stream, read_options=json.ReadOptions(block_size=CSV_BLOCK_SIZE))


def _json_batches(raw: BinaryIO, path: str, options: FileOptions, columns: list[str]) -> Iterator[pa.RecordBatch]:
    for batch in _json_reader(raw, path, options):
        yield _select(batch, columns, path)


def _parquet_file(raw: BinaryIO, path: str, columns: list[str]) -> pq.ParquetFile:
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(pa.PythonFile(raw, mode="r"))
    _check_columns(parquet.schema_arrow, columns, path)
    return parquet


def _parquet_batches(raw: BinaryIO, path: str, batch_size: int, columns: list[str]) -> Iterator[pa.RecordBatch]:
    yield from _parquet_file(raw, path, columns).iter_batches(batch_size=batch_size, columns=columns or None)


def _check_columns(schema: pa.Schema, columns: list[str], path: str) -> None:
    missing = [c for c in columns if c not in schema.names]
    if missing:
        raise SourceError(f"columns {missing} not found in {path}")


def _select(batch: pa.RecordBatch, columns: list[str], path: str) -> pa.RecordBatch:
    if not columns:
        return batch
    _check_columns(batch.schema, columns, path)
    return batch.select(columns)


def _select_schema(schema: pa.Schema, columns: list[str], path: str) -> pa.Schema:
    if not columns:
        return schema
    _check_columns(schema, columns, path)
    return pa.schema([schema.field(c) for c in columns])


@contextlib.contextmanager
def _read_errors(fmt: str, path: str) -> Iterator[None]:
    """Turn any reader failure into a SourceError naming the file."""
    try:
        yield
    except SourceError:
        raise
    except Exception as exc:  # noqa: BLE001 - Arrow, codecs and SDKs raise many types
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SourceError(f"could not read {fmt} file {path}: {detail}") from exc


def file_batches(
    raw: BinaryIO, path: str, file_config: FileTableConfig, batch_size: int, columns: list[str]
) -> Iterator[pa.RecordBatch]:
    """Stream one opened file as batches of at most batch_size rows; SourceError names the file."""
    fmt = file_config.format
    with _read_errors(fmt, path):
        if fmt == "csv":
            batches = iter(_csv_reader(raw, path, file_config.options, columns))
        elif fmt == "json":
            batches = _json_batches(raw, path, file_config.options, columns)
        elif fmt == "parquet":
            batches = _parquet_batches(raw, path, batch_size, columns)
        else:
            raise SourceError(f"unsupported file format {fmt!r}")
        yield from rechunk(batches, batch_size)


def file_schema(raw: BinaryIO, path: str, file_config: FileTableConfig, columns: list[str]) -> pa.Schema:
    """The schema `file_batches` streams for this file, from the Parquet footer or the first CSV/JSON block.

    CSV and JSON types are inferred from the first block, so that block is all this reads: never the whole file.
    """
    fmt = file_config.format
    with _read_errors(fmt, path):
        if fmt == "csv":
            return _csv_reader(raw, path, file_config.options, columns).schema
        if fmt == "json":
            return _select_schema(_json_reader(raw, path, file_config.options).schema, columns, path)
        if fmt == "parquet":
            return _select_schema(_parquet_file(raw, path, columns).schema_arrow, columns, path)
        raise SourceError(f"unsupported file format {fmt!r}")


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
        with contextlib.closing(self._open(file)) as raw:
            yield from file_batches(raw, file.path, spec, self.batch_size, _wanted_columns(table))

    def file_schema(self, table: TableConfig, file: FileInfo) -> pa.Schema:
        """The schema `read_file` streams for this file, read from its footer or first block."""
        spec = _file_spec(table)
        with contextlib.closing(self._open(file)) as raw:
            return file_schema(raw, file.path, spec, _wanted_columns(table))

    def _open(self, file: FileInfo) -> BinaryIO:
        try:
            return self.store.open(file)
        except Exception as exc:  # noqa: BLE001
            raise SourceError(f"could not open {file.path}: {type(exc).__name__}: {exc}") from exc


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

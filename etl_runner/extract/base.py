"""Source protocols and the registry mapping `source.kind` to a source class.

A source turns one table config into a stream of `pyarrow.RecordBatch`es holding at most
`options.batch_size` rows each, so the runner's memory is bounded by the batch size, never the
table size. Every source class is constructed as `cls(source: SourceConfig, options: RunOptions)`
and is a context manager (`close()` releases connections).

- SQL-like sources (`TableSource`) read one table's selected columns, only rows strictly past
  the committed cursor (minus `table.lookback_seconds`; on the first run from `historical_start`).
- File sources (`FileSource`) list the files of a table and read one file at a time; the pipeline
  decides which files to read using the processed-file ledger.

Sources raise `SourceError` with a readable message; anything else is treated as a bug.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import pyarrow as pa

if TYPE_CHECKING:
    from etl_runner.config import RunOptions, SourceConfig, TableConfig


class SourceError(Exception):
    """Reading the source failed; the message is safe to show to users (no secrets)."""


@dataclass(frozen=True)
class FileInfo:
    """One file as listed by a file source; (path, size, generation, etag) identify its version."""

    path: str
    size: int
    generation: str | None = None
    etag: str | None = None
    modified_at: str | None = None  # ISO 8601 with offset, e.g. "2024-01-01T00:00:00+00:00"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def same_version(self, other: FileInfo) -> bool:
        """True when both describe the same content (generation/etag if known, else size+mtime)."""
        if self.generation and other.generation:
            return self.generation == other.generation
        if self.etag and other.etag:
            return self.etag == other.etag
        return self.size == other.size and self.modified_at == other.modified_at


@runtime_checkable
class TableSource(Protocol):
    """A database-like source (PostgreSQL, MySQL, SQLite, BigQuery, Firestore)."""

    def read_table(self, table: TableConfig, cursor: str | None) -> Iterator[pa.RecordBatch]:
        """Yield batches of the table's selected columns for rows past `cursor` (None = all).

        `cursor` is the committed cursor (full-precision string) from the warehouse state; the
        source applies `table.lookback_seconds` and `table.historical_start` itself. Column names
        in the batches are the source's names; normalize.py makes them warehouse-safe. When no
        row matches, yield one empty batch carrying the schema if the source knows it.
        """
        ...

    def close(self) -> None: ...


@runtime_checkable
class FileSource(Protocol):
    """A file store (local disk, GCS, S3, Azure Blob) read one file at a time."""

    def list_files(self, table: TableConfig) -> list[FileInfo]:
        """Every file matching `table.file.prefix` / `pattern`, sorted by path."""
        ...

    def read_file(self, table: TableConfig, file: FileInfo) -> Iterator[pa.RecordBatch]:
        """Stream one file as batches; a file that fails to parse raises SourceError naming it."""
        ...

    def file_schema(self, table: TableConfig, file: FileInfo) -> pa.Schema:
        """The schema `read_file` streams for this file, read cheaply (footer or first block)."""
        ...

    def close(self) -> None: ...


class SourceBase:
    """Convenience base: stores config and makes the source a context manager."""

    def __init__(self, source: SourceConfig, options: RunOptions):
        self.config = source
        self.params = source.params
        self.secrets = source.secrets
        self.batch_size = options.batch_size

    def close(self) -> None:
        """Release connections; the default has nothing to release."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# kind -> "module:Class"; imported lazily so a missing cloud SDK never breaks SQL sources.
SOURCES: dict[str, str] = {
    "postgresql": "etl_runner.extract.postgres:PostgresSource",
    "mysql": "etl_runner.extract.mysql:MySQLSource",
    "sqlite": "etl_runner.extract.sqlite:SQLiteSource",
    "local_files": "etl_runner.extract.files:LocalFileSource",
    "gcs": "etl_runner.extract.files:GCSFileSource",
    "s3": "etl_runner.extract.files:S3FileSource",
    "azure_blob": "etl_runner.extract.files:AzureBlobFileSource",
    "bigquery": "etl_runner.extract.bigquery:BigQuerySource",
    "firestore": "etl_runner.extract.firestore:FirestoreSource",
}


def load_class(target: str) -> type:
    """Import 'package.module:Class' and return the class."""
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def get_source(kind: str) -> type:
    """The source class for `source.kind`; SourceError if unknown or its SDK is missing."""
    target = SOURCES.get(kind)
    if target is None:
        raise SourceError(f"unknown source kind {kind!r}")
    try:
        return load_class(target)
    except ImportError as exc:
        raise SourceError(f"source kind {kind!r} is not available in this runner: {exc}") from exc


def open_source(source: SourceConfig, options: RunOptions) -> TableSource | FileSource:
    """Construct the configured source."""
    return get_source(source.kind)(source, options)

"""Warehouse protocol: where normalized Arrow batches land, atomically per table with their state.

A warehouse is constructed as `cls(destination: DestinationConfig, options: RunOptions)`.
Promises every implementation keeps:
- `open()` takes the writer's turn; if another run holds it, it waits (calling `on_wait` once)
  with backoff instead of failing.
- `read_state` / `processed_files` read the warehouse's own state tables (`_etl_state`,
  `_etl_files` in the destination dataset): they are the authority for cursors and file ledgers.
- `load(plan)` is one atomic step per table: the data (replace / append / incremental / merge)
  and the new state (cursor, processed files) commit together or not at all.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import pyarrow as pa

from etl_runner.extract.base import FileInfo

if TYPE_CHECKING:
    from etl_runner.config import DestinationConfig, RunOptions, TableConfig


class WarehouseError(Exception):
    """Loading failed in a way users can act on (lock timeout, schema conflict, bad value)."""


@dataclass(frozen=True)
class ProcessedFile:
    """One ledger row: a file version loaded into a table, and how many rows it gave."""

    file: FileInfo
    rows: int

    def to_dict(self) -> dict:
        return {**self.file.to_dict(), "rows": self.rows}


@dataclass
class StateUpdate:
    """The state committed with a table's data: the new cursor and the files just loaded."""

    cursor: str | None
    files: list[ProcessedFile] = field(default_factory=list)


@dataclass
class LoadPlan:
    """What to load into one table.

    `batches` are already normalized to `schema`. `finish()` is called after every batch was
    consumed and before commit; it returns the state to commit with the data (the cursor is only
    known once the stream ends).
    """

    table: TableConfig
    schema: pa.Schema
    batches: Iterator[pa.RecordBatch]
    finish: Callable[[], StateUpdate]
    run_id: int | None = None
    mapping: dict[str, str] = field(default_factory=dict)  # source column name -> destination name
    key_unique: bool = False  # the source enforces primary_key: the stream holds no duplicate keys
    local_parquet: LocalParquet | None = None  # the same rows as local Parquet files a warehouse may read itself
    read_directly: bool = False  # set by the warehouse when it read `local_parquet` instead of `batches`


@dataclass(frozen=True)
class LocalParquet:
    """Local Parquet files that hold exactly the plan's stream (same columns and types in every file).

    A warehouse that reads Parquet itself (DuckDB, in parallel) may load these instead of the Arrow
    stream, if its reader gives exactly the stream's column types; it then sets `plan.read_directly`.
    """

    paths: list[str]
    largest_row_group_bytes: int  # uncompressed: what a reader thread holds at once


@dataclass
class LoadResult:
    """What one committed load did."""

    rows_loaded: int
    added_columns: list[str] = field(default_factory=list)
    widened_columns: list[str] = field(default_factory=list)


@runtime_checkable
class Warehouse(Protocol):
    def open(self, on_wait: Callable[[], None] | None = None) -> None:
        """Connect as the single writer, waiting (not failing) while another run holds the lock."""
        ...

    def read_state(self, table: TableConfig) -> str | None:
        """The committed cursor of `table` (None if never loaded or full_refresh)."""
        ...

    def processed_files(self, table: TableConfig) -> dict[str, ProcessedFile]:
        """The file ledger of `table`, keyed by path."""
        ...

    def column_names(self, table: TableConfig) -> list[str]:
        """The destination table's columns (empty when it does not exist yet)."""
        ...

    def load(self, plan: LoadPlan) -> LoadResult:
        """Load the plan's batches and commit them with the plan's state in one transaction."""
        ...

    def close(self) -> None: ...


WAREHOUSES: dict[str, str] = {
    "duckdb": "etl_runner.load.duckdb:DuckDBWarehouse",
    "bigquery": "etl_runner.load.bigquery:BigQueryWarehouse",
}


def get_warehouse(backend: str) -> type:
    """The warehouse class for `destination.backend` (imported lazily)."""
    target = WAREHOUSES.get(backend)
    if target is None:
        raise WarehouseError(f"unknown warehouse backend {backend!r}")
    module_name, _, attr = target.partition(":")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except ImportError as exc:
        raise WarehouseError(f"warehouse {backend!r} is not available in this runner: {exc}") from exc


def open_warehouse(destination: DestinationConfig, options: RunOptions) -> Warehouse:
    """Construct the configured warehouse (not yet opened)."""
    return get_warehouse(destination.backend)(destination, options)

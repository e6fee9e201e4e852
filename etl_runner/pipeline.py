"""Pipeline: per table extract -> normalize -> load, with progress, phase timings and a final status."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa

from etl_runner.config import JobConfig, TableConfig
from etl_runner.extract.base import FileInfo, FileSource, SourceError, open_source
from etl_runner.files_plan import align_to_schema, files_to_load, union_schema
from etl_runner.load.base import (
    LoadPlan,
    LoadResult,
    LocalParquet,
    ProcessedFile,
    StateUpdate,
    Warehouse,
    WarehouseError,
    open_warehouse,
)
from etl_runner.normalize import NormalizeError, Normalizer, batch_max, cursor_string
from etl_runner.prefetch import prefetch
from etl_runner.reporting import Reporter

log = logging.getLogger("etl_runner.pipeline")
EXPECTED_ERRORS = (SourceError, NormalizeError, WarehouseError)


def fault_point(name: str) -> None:
    """Test hook: RUNNER_FAULT_AT=<name> makes the runner SIGKILL itself here."""
    if os.environ.get("RUNNER_FAULT_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


@dataclass
class TableReport:
    """One table's outcome, shaped as the contract's `tables[]` entry."""

    table_id: int
    status: str = "running"
    rows_read: int = 0
    rows_loaded: int = 0
    bytes: int = 0
    duration_seconds: float = 0.0
    cursor_before: str | None = None
    cursor_after: str | None = None
    files: int = 0
    error: str | None = None
    phases: dict[str, float] = field(default_factory=dict)


@dataclass
class RunResult:
    status: str
    tables: list[TableReport]
    error: dict[str, str] | None = None


class Progress:
    """Counts rows/bytes, tracks the cursor maximum and the time spent in each stage of the stream."""

    def __init__(self, on_progress: Callable[[int, int], None], cursor_column: str | None):
        self.rows = self.bytes = 0
        self.on_progress = on_progress
        self.cursor_column = cursor_column
        self.cursor_max: Any = None
        self.timings = {"extract": 0.0, "normalize": 0.0}

    def stream(self, batches: Iterator[pa.RecordBatch], normalize: Callable) -> Iterator[pa.RecordBatch]:
        """Extract + normalize on a read-ahead thread; count here, as the warehouse pulls each batch."""
        for batch in prefetch(self._normalized(batches, normalize), depth=2):
            self._count(batch)
            yield batch

    def _normalized(self, batches: Iterator[pa.RecordBatch], normalize: Callable) -> Iterator[pa.RecordBatch]:
        it = iter(batches)
        while True:
            t0 = time.perf_counter()
            try:
                batch = next(it)
            except StopIteration:
                self.timings["extract"] += time.perf_counter() - t0
                return
            t1 = time.perf_counter()
            out = normalize(batch)
            self.timings["extract"] += t1 - t0
            self.timings["normalize"] += time.perf_counter() - t1
            yield out

    def _count(self, batch: pa.RecordBatch) -> None:
        self.rows += batch.num_rows
        self.bytes += batch.nbytes
        if self.cursor_column and batch.num_rows:
            value = batch_max(batch, self.cursor_column)
            if value is not None and (self.cursor_max is None or value > self.cursor_max):
                self.cursor_max = value
        self.on_progress(batch.num_rows, batch.nbytes)


def _parse_like(sample: Any, text: str) -> Any:
    """Parse a committed cursor string into the type of `sample` so the two compare."""
    if isinstance(sample, datetime):
        return datetime.fromisoformat(text)
    if isinstance(sample, date):
        return date.fromisoformat(text)
    if isinstance(sample, Decimal):
        return Decimal(text)
    return type(sample)(text)


def next_cursor(before: str | None, seen_max: Any) -> str | None:
    """The cursor to commit: the larger of the committed one and the maximum just loaded."""
    if seen_max is None:
        return before
    if before is not None:
        try:
            if _parse_like(seen_max, before) >= seen_max:
                return before
        except (ValueError, TypeError):
            pass
    return cursor_string(seen_max)


class Pipeline:
    """Runs one job config against its source and warehouse, reporting through `reporter`."""

    def __init__(self, config: JobConfig, reporter: Reporter, on_phase: Callable[[str], None] | None = None):
        self.config = config
        self.reporter = reporter
        self.on_phase = on_phase or (lambda phase: None)
        self.progress_total = {"rows": 0, "bytes": 0}
        self._last_progress = 0.0

    def phase(self, name: str) -> None:
        self.on_phase(name)
        self.reporter.update({"status": "running", "phase": name, "progress": dict(self.progress_total)})

    def _on_progress(self, rows: int, nbytes: int) -> None:
        self.progress_total["rows"] += rows
        self.progress_total["bytes"] += nbytes
        now = time.monotonic()
        if now - self._last_progress >= 2.0:
            self._last_progress = now
            self.reporter.update({"progress": dict(self.progress_total)})

    def run(self) -> RunResult:
        """Load every table; completed if all succeed, partial if some, failed if none."""
        self.phase("starting")
        warehouse = open_warehouse(self.config.destination, self.config.options)
        try:
            with open_source(self.config.source, self.config.options) as source:
                # The source connects while the warehouse opens: both mostly wait on I/O.
                connecting = _Background(getattr(source, "connect", None))
                waited: list[bool] = []
                try:
                    warehouse.open(on_wait=lambda: (waited.append(True), self.phase("waiting_for_warehouse")))
                finally:
                    connecting.join()
                connecting.raise_error()
                if waited:  # the connection sat idle while another run loaded: open a fresh one at first read
                    getattr(source, "reconnect_later", lambda: None)()
                reports = [self._run_table_safely(source, warehouse, t) for t in self.config.tables]
        finally:
            warehouse.close()
        return self._result(reports)

    def _result(self, reports: list[TableReport]) -> RunResult:
        failed = [r for r in reports if r.status == "failed"]
        status = "completed" if not failed else ("failed" if len(failed) == len(reports) else "partial")
        error = None
        if failed:
            error = {"type": "TableError", "message": "; ".join(f"table {r.table_id}: {r.error}" for r in failed)}
        return RunResult(status, reports, error)

    def _run_table_safely(self, source, warehouse: Warehouse, table: TableConfig) -> TableReport:
        report = TableReport(table_id=table.table_id)
        start = time.perf_counter()
        try:
            self._run_table(source, warehouse, table, report)
            report.status = "completed"
        except EXPECTED_ERRORS as exc:
            report.status, report.error = "failed", str(exc)
            log.error("table %s failed: %s", table.label, exc)
        except Exception as exc:  # noqa: BLE001 - one table's bug must not hide the others' results
            report.status, report.error = "failed", f"{type(exc).__name__}: {exc}"
            log.exception("table %s failed unexpectedly", table.label)
        report.duration_seconds = round(time.perf_counter() - start, 3)
        return report

    def _run_table(self, source, warehouse: Warehouse, table: TableConfig, report: TableReport) -> None:
        self.phase("extract")
        report.cursor_before = warehouse.read_state(table)
        report.cursor_after = report.cursor_before
        if isinstance(source, FileSource) and table.file is not None:
            self._load_files(source, warehouse, table, report)
        else:
            unique = table.load_mode == "merge" and _key_is_unique(source, table)
            self._load_rows(source.read_table(table, report.cursor_before), warehouse, table, report, unique)

    def _load_rows(self, batches: Iterator[pa.RecordBatch], warehouse: Warehouse, table: TableConfig,
                   report: TableReport, key_unique: bool = False) -> None:
        """Stream a table source into one atomic load with the new cursor."""
        t0 = time.perf_counter()
        first = next(iter(batches), None)
        if first is None:
            report.phases = {"extract": round(time.perf_counter() - t0, 3)}
            return
        normalizer = Normalizer(first.schema)
        cursor_col = normalizer.mapping.get(table.cursor_column) if table.cursor_column else None
        progress = Progress(self._on_progress, cursor_col)
        stream = progress.stream(_chain(first, batches), normalizer)

        committed: list[StateUpdate] = []

        def finish() -> StateUpdate:
            fault_point("after_extract")
            committed.append(StateUpdate(cursor=next_cursor(report.cursor_before, progress.cursor_max)))
            return committed[-1]

        self.phase("load")
        plan = LoadPlan(table, normalizer.schema, stream, finish, self.config.run_id, normalizer.mapping, key_unique)
        result = warehouse.load(plan)
        self._fill(report, progress, result.rows_loaded, time.perf_counter() - t0)
        report.cursor_after = committed[-1].cursor

    def _fill(self, report: TableReport, progress: Progress, rows_loaded: int, total: float) -> None:
        report.rows_read, report.rows_loaded, report.bytes = progress.rows, rows_loaded, progress.bytes
        extract, norm = progress.timings["extract"], progress.timings["normalize"]
        report.phases = {"extract": round(extract, 3), "normalize": round(norm, 3),
                         "load": round(max(total - extract - norm, 0.0), 3)}

    def _load_files(self, source: FileSource, warehouse: Warehouse, table: TableConfig, report: TableReport) -> None:
        """Load the new/changed files of a table in one transaction, recording each in the ledger.

        The stream's schema is the union over all the files (`_file_schemas`, `union_schema`), fixed before
        anything loads: a later file's new columns are added under schema_drift 'add' and fail the run under
        'fail'. Local Parquet files may be read by the warehouse itself (`_local_parquet`).
        """
        t0 = time.perf_counter()
        ledger = {} if table.load_mode == "replace" else warehouse.processed_files(table)
        files = files_to_load(source.list_files(table), ledger, table)
        if not files:
            report.phases = {"extract": round(time.perf_counter() - t0, 3)}
            return
        loaded: list[ProcessedFile] = []
        first_batches = source.read_file(table, files[0])
        first = next(iter(first_batches), None)
        if first is None:
            raise SourceError(f"file {files[0].path} has no schema (empty file)")
        schemas = _file_schemas(source, table, files, first.schema)
        known = warehouse.column_names(table) if table.schema_drift == "fail" else []
        union = union_schema(schemas, table.schema_drift, known)
        normalizer = Normalizer(union)
        progress = Progress(self._on_progress, None)
        local_parquet, footer_rows = _local_parquet(source, table, files, schemas, union)

        def all_files() -> Iterator[pa.RecordBatch]:
            for i, info in enumerate(files):
                rows = 0
                batches = _chain(first, first_batches) if i == 0 else source.read_file(table, info)
                for batch in batches:
                    rows += batch.num_rows
                    yield align_to_schema(batch, normalizer.source_schema, info.path)
                loaded.append(ProcessedFile(info, rows))

        def finish() -> StateUpdate:
            fault_point("after_extract")
            if plan.read_directly:  # the warehouse read the files itself: rows per file from their footers
                loaded[:] = [ProcessedFile(info, rows) for info, rows in zip(files, footer_rows, strict=True)]
            return StateUpdate(cursor=report.cursor_before, files=sorted(loaded, key=lambda pf: pf.file.path))

        self.phase("load")
        plan = LoadPlan(table, normalizer.schema, progress.stream(all_files(), normalizer), finish,
                        self.config.run_id, normalizer.mapping, local_parquet=local_parquet)
        try:
            result = _load_preferring_direct(warehouse, plan)
        finally:
            getattr(first_batches, "close", lambda: None)()  # unread when the warehouse read the files itself
        if plan.read_directly:
            progress.rows, progress.bytes = result.rows_loaded, sum(info.size or 0 for info in files)
            self._on_progress(progress.rows, progress.bytes)
        self._fill(report, progress, result.rows_loaded, time.perf_counter() - t0)
        report.files = len(loaded)
        for pf in sorted(loaded, key=lambda pf: pf.file.path):
            self.reporter.record_file(table.table_id, pf.to_dict())


class _Background:
    """Run `work` on a thread; `raise_error` re-raises what it raised.

    (SQL sources keep their own connect errors for the first read, where they fail the table: see SQLSource.connect.)
    """

    def __init__(self, work: Callable[[], None] | None):
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(work,), name="source-connect", daemon=True)
        if work is not None:
            self.thread.start()

    def _run(self, work: Callable[[], None]) -> None:
        try:
            work()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller by raise_error
            self.error = exc

    def join(self) -> None:
        if self.thread.ident is not None:
            self.thread.join()

    def raise_error(self) -> None:
        if self.error is not None:
            raise self.error


def _key_is_unique(source, table: TableConfig) -> bool:
    """Whether the source says it enforces the table's primary key (sources without the check: no)."""
    check = getattr(source, "key_is_unique", None)
    return bool(check(table)) if check is not None else False


def _chain(first: pa.RecordBatch, rest: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    yield first
    yield from rest


def final_payload(result: RunResult) -> dict[str, Any]:
    """The contract's final run update for a result."""
    payload: dict[str, Any] = {"status": result.status, "phase": "finalize",
                               "tables": [asdict(r) for r in result.tables]}
    if result.error:
        payload["error"] = result.error
    return payload


def _load_preferring_direct(warehouse: Warehouse, plan: LoadPlan) -> LoadResult:
    """Load; if the warehouse's own Parquet reader failed, load the same files through the Arrow stream.

    The stream names the broken file and row (DuckDB's reader does not), or loads what DuckDB could not.
    Nothing was committed by the failed attempt, and the stream was not started, so it is a clean retry.
    """
    try:
        return warehouse.load(plan)
    except WarehouseError as exc:
        if not plan.read_directly:
            raise
        log.warning("%s; loading the files through the Arrow stream instead", exc)
        plan.local_parquet, plan.read_directly = None, False
        return warehouse.load(plan)


def _file_schemas(source: FileSource, table: TableConfig, files: list[FileInfo],
                  first_schema: pa.Schema) -> list[tuple[str, pa.Schema]]:
    """Each file's schema, found without reading any file whole (see `union_schema` for the run's schema).

    The first file's schema comes from its first batch (already read), the others' from footer or first block.
    """
    schemas = [(files[0].path, first_schema)]
    schemas += [(info.path, source.file_schema(table, info)) for info in files[1:]]
    return schemas


def _local_parquet(source: FileSource, table: TableConfig, files: list[FileInfo],
                   schemas: list[tuple[str, pa.Schema]], union: pa.Schema) -> tuple[LocalParquet | None, list[int]]:
    """Local Parquet files that all have exactly the run's columns and types, with their footer row counts.

    Only then may the warehouse read them itself (no file needs NULL columns or casts from `align_to_schema`).
    """
    if getattr(source, "kind", "") != "local_files" or table.file is None or table.file.format != "parquet":
        return None, []
    wanted = [(f.name, f.type) for f in union]
    if any([(f.name, f.type) for f in schema] != wanted for _, schema in schemas):
        return None, []
    import pyarrow.parquet as pq

    rows, largest = [], 0
    for info in files:
        meta = pq.read_metadata(info.path)
        rows.append(meta.num_rows)
        largest = max([largest, *(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))])
    return LocalParquet([info.path for info in files], largest), rows

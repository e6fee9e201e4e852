"""BigQuery warehouse: batches -> Parquet staging files -> load job into a stage table -> one commit.

Per table and run:
1. Stage: the normalized batches are written as Parquet files (rolled every STAGE_FILE_ROWS rows)
   to the staging area: `gs://bucket/prefix` (uploaded, then one load job over their URIs) or
   `file:///folder` (each file sent with `load_table_from_file`, for local use and tests).
2. Load: load jobs (never streaming inserts) fill `_etl_stage_<table>_<token>` with an explicit schema.
   The ledger rows of the files just read go to a second stage table the same way.
3. Commit:
   - append / incremental / merge: ONE multi-statement transaction inserts (or MERGEs, keeping the
     newest row per primary key) the stage into the table AND upserts `_etl_state` / `_etl_files`.
     BigQuery commits a transaction atomically: data and state change together or not at all.
   - replace: `CREATE OR REPLACE TABLE ... AS SELECT` swaps the table atomically (with its
     partitioning / clustering); DDL cannot run inside a BigQuery transaction, so the state is
     committed by a transaction right after. A crash between the two leaves the new snapshot with the
     old state; replace never reads the state, so a rerun simply replaces again (same result).
Stage tables expire after a day, so a crashed run leaves nothing behind for long.
Schema drift (append/merge): new columns are added (NULLABLE) or fail per `schema_drift`; INT64 /
NUMERIC columns are widened in place; anything else fails with the column named.
"""
# ruff: noqa: S608 - identifiers go through quote(), values are query parameters

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.parquet as pq

from etl_runner.config import DestinationConfig, RunOptions, TableConfig
from etl_runner.extract.base import FileInfo
from etl_runner.load import bigquery_schema as bs
from etl_runner.load.base import LoadPlan, LoadResult, ProcessedFile, StateUpdate, WarehouseError
from etl_runner.load.bigquery_schema import quote

STAGE_FILE_ROWS = int(os.environ.get("RUNNER_BQ_STAGE_FILE_ROWS", "2000000"))
STATE_FIELDS = [("dest_table", "STRING"), ("cursor_value", "STRING"), ("run_id", "INT64"), ("updated_at", "TIMESTAMP")]
FILE_FIELDS = [("dest_table", "STRING"), ("path", "STRING"), ("size", "INT64"), ("generation", "STRING"),
               ("etag", "STRING"), ("modified_at", "STRING"), ("rows", "INT64"), ("run_id", "INT64"),
               ("loaded_at", "TIMESTAMP")]  # fmt: skip
_ARROW_TYPES = {"STRING": pa.string(), "INT64": pa.int64(), "TIMESTAMP": pa.timestamp("us", "UTC")}


def _schema(fields: list[tuple[str, str]]) -> list:
    from google.cloud import bigquery

    return [bigquery.SchemaField(n, t) for n, t in fields]


class StagingArea:
    """Where Parquet stage files go: a local folder (file:///folder) or a GCS prefix (gs://bucket/prefix).

    Keys passed to `local_path` / `put` are relative ('<dataset>/<token>/part-00000.parquet').
    """

    def __init__(self, url: str | None, storage_client_factory: Callable[[], Any]):
        self.url = url or f"file://{tempfile.gettempdir()}/etl_runner_staging"
        parsed = urlparse(self.url)
        if parsed.scheme not in ("file", "gs"):
            raise WarehouseError(f"staging_url {self.url!r} must be file:///folder or gs://bucket/prefix")
        self.is_gcs = parsed.scheme == "gs"
        self.bucket, self.prefix = parsed.netloc, parsed.path.strip("/")
        self.root = Path(parsed.path)
        self._storage_factory = storage_client_factory
        self._local_tmp: Path | None = None

    def local_path(self, key: str) -> Path:
        """Where a stage file is written before it is loaded (or uploaded)."""
        if not self.is_gcs:
            return _mkparent(self.root / key)
        if self._local_tmp is None:
            self._local_tmp = Path(tempfile.mkdtemp(prefix="etl_stage_"))
        return _mkparent(self._local_tmp / key)

    def put(self, key: str, local: Path) -> str:
        """Publish a written file; returns its URI (gs://...) or its local path."""
        if not self.is_gcs:
            return str(local)
        name = f"{self.prefix}/{key}" if self.prefix else key
        blob = self._storage_factory().bucket(self.bucket).blob(name)
        blob.upload_from_filename(str(local), content_type="application/octet-stream")
        local.unlink(missing_ok=True)
        return f"gs://{self.bucket}/{name}"

    def delete(self, uris: list[str]) -> None:
        """Best-effort clean-up of stage files."""
        for uri in uris:
            try:
                if uri.startswith("gs://"):
                    parsed = urlparse(uri)
                    self._storage_factory().bucket(parsed.netloc).blob(parsed.path.lstrip("/")).delete()
                else:
                    Path(uri).unlink(missing_ok=True)
                    _remove_empty_parents(Path(uri).parent, self.root)
            except Exception:  # noqa: BLE001,S110 - clean-up must never fail a committed load
                pass
        if self._local_tmp is not None:
            shutil.rmtree(self._local_tmp, ignore_errors=True)
            self._local_tmp = None


def _remove_empty_parents(folder: Path, root: Path) -> None:
    while folder != root and root in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def _mkparent(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


class BigQueryWarehouse:
    """One BigQuery dataset per project; `_etl_state` / `_etl_files` live beside the data."""

    def __init__(self, destination: DestinationConfig, options: RunOptions):
        self.destination = destination
        self.project = destination.bigquery_project
        self.location = destination.bigquery_location
        self.endpoint = destination.bigquery_endpoint or os.environ.get("RUNNER_BIGQUERY_ENDPOINT")
        self.timeout = float(os.environ.get("RUNNER_BIGQUERY_TIMEOUT", "1800"))
        self.client: Any = None
        self._storage: Any = None
        self.staging = StagingArea(self._staging_url(), self._storage_client)

    def _staging_url(self) -> str | None:
        url = self.destination.staging_url
        if url and url.startswith("file://") and not url.startswith("file:///"):
            raise WarehouseError("file:// staging_url must be absolute: file:///folder")
        return url

    # ------------------------------------------------------------------ clients

    def open(self, on_wait: Callable[[], None] | None = None) -> None:
        """Create the client; BigQuery has no single-writer lock, so nothing to wait for."""
        from etl_runner.extract.bigquery import make_bigquery_client

        self.client = make_bigquery_client(self.project, self.endpoint, None, self.location)

    def _storage_client(self) -> Any:
        if self._storage is None:
            from etl_runner.extract.object_stores import GCSStore

            self._storage = GCSStore(
                {"bucket_path": f"gs://{self.staging.bucket}/", "project_id": self.project}, {}
            ).client
        return self._storage

    def _retry(self) -> Any:
        from google.api_core.retry import Retry

        return Retry(deadline=float(os.environ.get("RUNNER_BIGQUERY_RETRY_DEADLINE", "600")))

    def query(self, sql: str, params: list | None = None) -> Any:
        """Run SQL and wait; errors raise (query().result(), never query_and_wait which hides them)."""
        from google.cloud import bigquery

        config = bigquery.QueryJobConfig(query_parameters=params or [])
        job = self.client.query(sql, job_config=config, location=self.location, retry=self._retry())
        try:
            return job.result(timeout=self.timeout, retry=self._retry())
        except Exception as exc:
            raise WarehouseError(f"BigQuery statement failed: {_message(exc)}") from exc

    def _ref(self, dataset: str, table: str) -> str:
        return f"{quote(self.project)}.{quote(dataset)}.{quote(table)}"

    def _table_id(self, dataset: str, table: str) -> str:
        return f"{self.project}.{dataset}.{table}"

    def _get_table(self, dataset: str, table: str) -> Any:
        from google.api_core.exceptions import NotFound

        try:
            return self.client.get_table(self._table_id(dataset, table), retry=self._retry())
        except NotFound:
            return None

    # ------------------------------------------------------------------ state

    def _ensure_dataset(self, dataset: str) -> None:
        from google.cloud import bigquery

        ds = bigquery.Dataset(f"{self.project}.{dataset}")
        ds.location = self.location
        self.client.create_dataset(ds, exists_ok=True, retry=self._retry())
        for name, fields in (("_etl_state", STATE_FIELDS), ("_etl_files", FILE_FIELDS)):
            schema = _schema(fields)
            self.client.create_table(
                bigquery.Table(self._table_id(dataset, name), schema=schema), exists_ok=True, retry=self._retry()
            )

    def read_state(self, table: TableConfig) -> str | None:
        """The committed cursor from `_etl_state` (None when never loaded or on full_refresh)."""
        from google.cloud import bigquery

        if table.full_refresh or self._get_table(table.dest_dataset, "_etl_state") is None:
            return None
        rows = list(self.query(
            f"SELECT cursor_value FROM {self._ref(table.dest_dataset, '_etl_state')} WHERE dest_table = @t",
            [bigquery.ScalarQueryParameter("t", "STRING", table.dest_table)],
        ))  # fmt: skip
        return rows[0][0] if rows else None

    def processed_files(self, table: TableConfig) -> dict[str, ProcessedFile]:
        """The file ledger of the table from `_etl_files`, keyed by path."""
        from google.cloud import bigquery

        if self._get_table(table.dest_dataset, "_etl_files") is None:
            return {}
        rows = self.query(
            f"SELECT path, size, generation, etag, modified_at, `rows` FROM "
            f"{self._ref(table.dest_dataset, '_etl_files')} WHERE dest_table = @t",
            [bigquery.ScalarQueryParameter("t", "STRING", table.dest_table)],
        )
        return {r[0]: ProcessedFile(FileInfo(r[0], r[1], r[2], r[3], r[4]), r[5]) for r in rows}

    # ------------------------------------------------------------------ load

    def column_names(self, table: TableConfig) -> list[str]:
        """The destination table's columns (empty when it does not exist yet)."""
        existing = self._get_table(table.dest_dataset, table.dest_table)
        return [f.name for f in existing.schema] if existing is not None else []

    def load(self, plan: LoadPlan) -> LoadResult:
        """Stage, load into a stage table, then commit data and state together (see module doc)."""
        t = plan.table
        self._ensure_dataset(t.dest_dataset)
        token = f"{t.dest_table[:200]}_{uuid.uuid4().hex[:12]}"
        stage = f"_etl_stage_{token}"
        stages = [stage, f"_etl_stage_state_{token}", f"_etl_stage_files_{token}"]
        uris: list[str] = []
        try:
            fields = bs.bq_schema(plan.schema)
            self._write_stage_files(plan, token, uris)
            self._load_files(uris, t.dest_dataset, stage, fields)
            state = plan.finish()
            self._stage_state(t, state, plan.run_id, token, uris)
            return self._commit(plan, fields, token)
        finally:
            self._drop_stages(t.dest_dataset, stages)
            self.staging.delete(uris)

    def _drop_stages(self, dataset: str, names: list[str]) -> None:
        """Best effort: a failed drop must not hide the load's own error (stage tables expire anyway)."""
        for name in names:
            try:
                self.client.delete_table(self._table_id(dataset, name), not_found_ok=True)
            except Exception:  # noqa: BLE001,S110
                pass

    def _write_stage_files(self, plan: LoadPlan, token: str, uris: list[str]) -> None:
        """Write the batches as Parquet files of at most STAGE_FILE_ROWS rows, adding their URIs to `uris`."""
        schema = bs.parquet_ready_schema(plan.schema)
        folder = f"{plan.table.dest_dataset}/{token}"
        writer, rows_in_file, local = None, 0, None
        try:
            for batch in _non_empty(plan.batches, schema):
                if writer is None:
                    local = self.staging.local_path(f"{folder}/part-{len(uris):05d}.parquet")
                    writer = pq.ParquetWriter(str(local), schema, compression="snappy")
                writer.write_batch(bs.parquet_ready(batch, schema))
                rows_in_file += batch.num_rows
                if rows_in_file >= STAGE_FILE_ROWS:
                    writer.close()
                    uris.append(self.staging.put(f"{folder}/part-{len(uris):05d}.parquet", local))
                    writer, rows_in_file = None, 0
        except BaseException:
            if writer is not None:  # the half-written file is not in `uris` yet
                writer.close()
                uris.append(str(local))
            raise
        if writer is not None:
            writer.close()
            uris.append(self.staging.put(f"{folder}/part-{len(uris):05d}.parquet", local))
        if not uris:  # no rows: one empty file keeps the stage table (and replace) well-defined
            local = self.staging.local_path(f"{folder}/part-00000.parquet")
            pq.write_table(schema.empty_table(), str(local))
            uris.append(self.staging.put(f"{folder}/part-00000.parquet", local))

    def _load_files(self, uris: list[str], dataset: str, table: str, fields: list) -> None:
        """Load Parquet files into a new stage table with an explicit schema (load jobs, no streaming)."""
        from google.cloud import bigquery

        options = bigquery.ParquetOptions()
        options.enable_list_inference = True
        config = bigquery.LoadJobConfig(
            source_format=bigquery.SourceFormat.PARQUET, schema=fields, parquet_options=options,
            write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE,
        )  # fmt: skip
        destination = self._table_id(dataset, table)
        try:
            if uris[0].startswith("gs://"):
                self._wait(
                    self.client.load_table_from_uri(uris, destination, job_config=config, location=self.location)
                )
            else:
                for i, uri in enumerate(uris):
                    if i:
                        config.write_disposition = bigquery.WriteDisposition.WRITE_APPEND
                    with open(uri, "rb") as fh:
                        self._wait(
                            self.client.load_table_from_file(fh, destination, job_config=config, location=self.location)
                        )
        except WarehouseError:
            raise
        except Exception as exc:
            raise WarehouseError(f"BigQuery load into {dataset}.{table} failed: {_message(exc)}") from exc
        stage = self.client.get_table(destination)
        stage.expires = datetime.now(UTC) + timedelta(days=1)
        self.client.update_table(stage, ["expires"])

    def _wait(self, job: Any) -> None:
        job.result(timeout=self.timeout, retry=self._retry())
        if job.errors:
            raise WarehouseError(f"BigQuery load job failed: {job.errors[0].get('message')}")

    def _stage_state(self, t: TableConfig, state: StateUpdate, run_id: int | None, token: str, uris: list[str]) -> None:
        """The new `_etl_state` row and ledger rows as stage tables, loaded from Parquet like the data.

        The commit MERGEs them from there: no values are pasted into SQL, and no query parameters are
        needed inside the multi-statement transaction (bqemulator does not bind them in scripts).
        """
        now = datetime.now(UTC)
        state_row = {"dest_table": t.dest_table, "cursor_value": state.cursor, "run_id": run_id, "updated_at": now}
        file_rows = [
            {"dest_table": t.dest_table, **pf.file.to_dict(), "rows": pf.rows, "run_id": run_id, "loaded_at": now}
            for pf in state.files
        ]
        for suffix, fields, rows in (("state", STATE_FIELDS, [state_row]), ("files", FILE_FIELDS, file_rows)):
            key = f"{t.dest_dataset}/{token}/{suffix}.parquet"
            local = self.staging.local_path(key)
            arrow = pa.schema([(n, _ARROW_TYPES[kind]) for n, kind in fields])
            pq.write_table(pa.Table.from_pylist(rows, schema=arrow), str(local))
            uris.append(self.staging.put(key, local))
            self._load_files([uris[-1]], t.dest_dataset, f"_etl_stage_{suffix}_{token}", _schema(fields))

    def _commit(self, plan: LoadPlan, fields: list, token: str) -> LoadResult:
        from etl_runner.load.bigquery_commit import commit_load

        return commit_load(self, plan, fields, token)

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None


def _non_empty(batches: Iterator[pa.RecordBatch], schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        if batch.num_rows:
            yield batch


def _message(exc: Exception) -> str:
    """The readable part of a google-api-core error (first line, no request dump)."""
    text = getattr(exc, "message", None) or str(exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__

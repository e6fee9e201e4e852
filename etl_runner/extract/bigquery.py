"""BigQuery source: a table read through the Storage Read API as Arrow, with the cursor as a row filter.

Tables are read directly with a read session (selected columns + row restriction), which costs no
query and streams Arrow pages; views (which read sessions cannot open) are queried first and their
result read the same way. Without a Storage Read endpoint (an emulator with only REST) the rows come
through a parameterised query and REST pages instead. A cross-project copy inside BigQuery should not
use this source at all (INSERT ... SELECT / CTAS keep data inside BigQuery).

Emulators: `RUNNER_BIGQUERY_ENDPOINT` (REST, http://host:port) and `RUNNER_BIGQUERY_GRPC_ENDPOINT`
(host:port of the Storage Read API, plaintext), or params `endpoint_url` / `grpc_endpoint`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import pyarrow as pa

from etl_runner.config import RunOptions, SourceConfig, TableConfig
from etl_runner.extract.base import SourceBase, SourceError
from etl_runner.extract.sqlbase import CursorBounds, cursor_bounds, rechunk


def make_bigquery_client(
    project: str | None, endpoint: str | None, service_account_json: str | None, location: str | None = None
) -> Any:
    """A BigQuery client: service-account JSON, else anonymous on an emulator, else ADC."""
    from google.cloud import bigquery

    kwargs: dict[str, Any] = {"project": project, "location": location}
    credentials = _credentials(service_account_json, endpoint)
    if credentials is not None:
        kwargs["credentials"] = credentials
    if endpoint:
        kwargs["client_options"] = {"api_endpoint": endpoint}
    return bigquery.Client(**kwargs)


def _credentials(service_account_json: str | None, endpoint: str | None) -> Any:
    if service_account_json:
        from google.oauth2 import service_account

        try:
            info = json.loads(service_account_json)
        except json.JSONDecodeError:
            raise SourceError("service_account_json is not valid JSON") from None
        return service_account.Credentials.from_service_account_info(info)
    if endpoint:
        from google.auth.credentials import AnonymousCredentials

        return AnonymousCredentials()
    return None


def make_read_client(grpc_endpoint: str | None, credentials: Any) -> Any:
    """A Storage Read API client (plaintext gRPC on an emulator endpoint)."""
    from google.cloud.bigquery_storage_v1 import BigQueryReadClient

    if grpc_endpoint:
        import grpc
        from google.cloud.bigquery_storage_v1.services.big_query_read.transports import BigQueryReadGrpcTransport

        channel = grpc.insecure_channel(grpc_endpoint)
        return BigQueryReadClient(transport=BigQueryReadGrpcTransport(channel=channel))
    return BigQueryReadClient(credentials=credentials)


def cursor_literal(bq_type: str, bounds: CursorBounds, column: str) -> str:
    """A typed SQL literal for the cursor bound, re-rendered from the parsed value (never pasted)."""
    value, back = bounds.value, timedelta(seconds=bounds.lookback_seconds)
    try:
        if bq_type == "TIMESTAMP":
            ts = datetime.fromisoformat(value)
            ts = (ts if ts.tzinfo else ts.replace(tzinfo=UTC)) - back
            return f'TIMESTAMP "{ts.astimezone(UTC).isoformat()}"'
        if bq_type == "DATETIME":
            return f'DATETIME "{(datetime.fromisoformat(value).replace(tzinfo=None) - back).isoformat()}"'
        if bq_type == "DATE":
            return f'DATE "{(datetime.fromisoformat(value) - back).date().isoformat()}"'
        if bq_type in ("INTEGER", "INT64"):
            return str(int(value))
        if bq_type in ("NUMERIC", "BIGNUMERIC"):
            return f'{bq_type} "{format(Decimal(value), "f")}"'
        if bq_type in ("FLOAT", "FLOAT64"):
            return repr(float(value))
        if bq_type == "STRING":
            return json.dumps(value)
    except (ValueError, InvalidOperation) as exc:
        raise SourceError(f"cursor value {value!r} does not fit column {column} ({bq_type}): {exc}") from None
    raise SourceError(f"column {column} ({bq_type}) cannot be used as a cursor")


class BigQuerySource(SourceBase):
    """Reads tables of `params.project_id` / `params.dataset` (or `table.source_schema`)."""

    def __init__(self, source: SourceConfig, options: RunOptions):
        super().__init__(source, options)
        self.project = self.params.get("project_id")
        if not self.project:
            raise SourceError("bigquery source needs params.project_id")
        self.endpoint = self.params.get("endpoint_url") or os.environ.get("RUNNER_BIGQUERY_ENDPOINT")
        self.grpc_endpoint = self.params.get("grpc_endpoint") or os.environ.get("RUNNER_BIGQUERY_GRPC_ENDPOINT")
        sa_json = self.secrets.get("service_account_json")
        self.client = make_bigquery_client(self.project, self.endpoint, sa_json)
        self.read_client = None
        if self.grpc_endpoint or not self.endpoint:
            self.read_client = make_read_client(self.grpc_endpoint, _credentials(sa_json, self.endpoint))

    def _table(self, table: TableConfig) -> Any:
        from google.api_core.exceptions import GoogleAPICallError

        dataset = table.source_schema or self.params.get("dataset")
        if not dataset:
            raise SourceError(f"no dataset for {table.source_table}: set params.dataset or source_schema")
        try:
            return self.client.get_table(f"{self.project}.{dataset}.{table.source_table}")
        except GoogleAPICallError as exc:
            raise SourceError(f"cannot open BigQuery table {dataset}.{table.source_table}: {exc.message}") from None

    def read_table(self, table: TableConfig, cursor: str | None) -> Iterator[pa.RecordBatch]:
        """Batches of the selected columns for rows past the cursor (see module doc)."""
        bq_table = self._table(table)
        types = {f.name: f.field_type for f in bq_table.schema}
        columns = _selected(table, list(types))
        bounds = cursor_bounds(table, cursor)
        restriction = None
        if bounds is not None:
            literal = cursor_literal(types[table.cursor_column], bounds, table.cursor_column)
            restriction = f"{_quote(table.cursor_column)} {'>=' if bounds.inclusive else '>'} {literal}"
        if self.read_client is not None and bq_table.table_type == "TABLE":
            batches = self._read_session(bq_table, columns, restriction)
        else:
            batches = self._query(bq_table, columns, restriction)
        yielded = False
        for batch in rechunk(batches, self.batch_size):
            yielded = True
            yield batch
        if not yielded:
            yield _empty_batch(bq_table.schema, columns)

    def _read_session(self, bq_table: Any, columns: list[str], restriction: str | None) -> Iterator[pa.RecordBatch]:
        from google.cloud.bigquery_storage_v1 import types

        options = types.ReadSession.TableReadOptions(selected_fields=columns, row_restriction=restriction or "")
        session = types.ReadSession(
            table=f"projects/{bq_table.project}/datasets/{bq_table.dataset_id}/tables/{bq_table.table_id}",
            data_format=types.DataFormat.ARROW, read_options=options,
        )  # fmt: skip
        session = self.read_client.create_read_session(
            parent=f"projects/{self.project}", read_session=session, max_stream_count=1
        )
        if not session.streams:
            return
        schema = pa.ipc.read_schema(pa.py_buffer(session.arrow_schema.serialized_schema))
        for stream in session.streams:
            for response in self.read_client.read_rows(stream.name):
                serialized = pa.py_buffer(response.arrow_record_batch.serialized_record_batch)
                batch = pa.ipc.read_record_batch(serialized, schema)
                yield batch.select(columns) if batch.schema.names != columns else batch

    def _query(self, bq_table: Any, columns: list[str], restriction: str | None) -> Iterator[pa.RecordBatch]:
        """Views, or no Storage Read endpoint: a query, its result read by storage API or REST pages."""
        where = f" WHERE {restriction}" if restriction else ""
        ref = f"`{bq_table.project}`.`{bq_table.dataset_id}`.`{bq_table.table_id}`"
        sql = f"SELECT {', '.join(_quote(c) for c in columns)} FROM {ref}{where}"  # noqa: S608 - quoted/rendered
        rows = self.client.query(sql).result(page_size=self.batch_size)
        if self.read_client is not None:
            yield from rows.to_arrow_iterable(bqstorage_client=self.read_client)
        else:
            yield from rows.to_arrow_iterable(bqstorage_client=None)

    def close(self) -> None:
        self.client.close()


def _quote(name: str) -> str:
    if not name or "`" in name or "\\" in name or "\x00" in name:
        raise SourceError(f"invalid BigQuery column name {name!r}")
    return f"`{name}`"


def _selected(table: TableConfig, available: list[str]) -> list[str]:
    wanted = table.columns or available
    needed = [*wanted, *(c for c in [table.cursor_column, *table.primary_key] if c and c not in wanted)]
    missing = [c for c in needed if c not in available]
    if missing:
        raise SourceError(f"columns {missing} not found in BigQuery table {table.label}")
    return needed


def _empty_batch(schema: list, columns: list[str]) -> pa.RecordBatch:
    """An empty batch with the columns' Arrow types (via the SDK's own mapping)."""
    from google.cloud.bigquery import _pandas_helpers

    by_name = {f.name: f for f in schema}
    arrow_schema = _pandas_helpers.bq_to_arrow_schema([by_name[c] for c in columns])
    if arrow_schema is None:
        arrow_schema = pa.schema([(c, pa.string()) for c in columns])
    return pa.RecordBatch.from_pylist([], schema=arrow_schema)

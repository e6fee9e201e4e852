"""BigQuery source: datasets as schemas, table metadata for row counts, tabledata.list for previews (no query)."""
from __future__ import annotations

from typing import Any

from ml_platform.utils.connection_manager.base import (
    CONNECT_TIMEOUT_SECONDS,
    SAMPLE_ROWS,
    Adapter,
    SourceNotFound,
    TestResult,
    check_identifier,
    google_credentials,
    table_preview,
)

MAX_TABLES_WITH_COUNTS = 200


class BigQueryAdapter(Adapter):
    """Official client; the emulator is reached through endpoint_url with anonymous credentials."""

    kind = "bigquery"

    def __init__(self, params: dict[str, Any], secrets: dict[str, str]):
        super().__init__(params, secrets)
        self._client = None

    def client(self):
        if self._client is None:
            from google.cloud import bigquery

            options = {"api_endpoint": self.params["endpoint_url"]} if self.params.get("endpoint_url") else None
            self._client = bigquery.Client(project=self.params.get("project_id"), client_options=options,
                                           credentials=google_credentials(self.secrets, self.params))
        return self._client

    def call(self, fn, *args, **kwargs):
        """One API call with a short deadline; Google errors become readable SourceErrors."""
        from google.api_core import exceptions as gexc
        from google.auth import exceptions as auth_exc
        from google.cloud.bigquery import DEFAULT_RETRY

        try:
            return fn(*args, retry=DEFAULT_RETRY.with_deadline(CONNECT_TIMEOUT_SECONDS),
                      timeout=CONNECT_TIMEOUT_SECONDS, **kwargs)
        except gexc.RetryError:
            raise self.fail(f"Host unreachable: BigQuery did not answer within {CONNECT_TIMEOUT_SECONDS} s.") \
                from None
        except gexc.NotFound as exc:
            raise SourceNotFound(f"Not found in BigQuery project {self.params.get('project_id')}: "
                                 f"{_first_line(exc)}") from None
        except (gexc.Forbidden, gexc.Unauthorized):
            raise self.fail(f"Access denied to BigQuery project {self.params.get('project_id')}.",
                            code="auth") from None
        except (gexc.GoogleAPIError, auth_exc.GoogleAuthError, OSError) as exc:
            raise self.fail(f"BigQuery error: {_first_line(exc)}") from None

    def test(self) -> TestResult:
        datasets = self.list_schemas()
        dataset = self.params.get("dataset")
        if dataset:
            check_identifier(dataset, datasets, "Dataset")
        return TestResult(True, f"Connected to BigQuery project {self.params.get('project_id')} "
                                f"({len(datasets)} datasets).", {"datasets": len(datasets)})

    def list_schemas(self) -> list[str]:
        return sorted(d.dataset_id for d in self.call(lambda **kw: list(self.client().list_datasets(**kw))))

    def list_tables(self, schema: str) -> list[dict[str, Any]]:
        check_identifier(schema, self.list_schemas(), "Dataset")
        items = self.call(lambda **kw: list(self.client().list_tables(schema, **kw)))
        tables = []
        for index, item in enumerate(sorted(items, key=lambda t: t.table_id)):
            rows = None
            if index < MAX_TABLES_WITH_COUNTS:
                rows = self.call(self.client().get_table, item.reference).num_rows
            tables.append({"name": item.table_id, "type": (item.table_type or "TABLE").lower(),
                           "estimated_rows": rows})
        return tables

    def describe_table(self, schema: str, table: str) -> dict[str, Any]:
        check_identifier(schema, self.list_schemas(), "Dataset")
        names = [t.table_id for t in self.call(lambda **kw: list(self.client().list_tables(schema, **kw)))]
        if table not in names:
            raise SourceNotFound(f"Table '{table[:200]}' was not found in dataset '{schema}'.")
        meta = self.call(self.client().get_table, f"{self.params.get('project_id')}.{schema}.{table}")
        keys = _primary_key(meta)
        raw = [(f.name, _field_type(f), f.mode != "REQUIRED", f.name in keys) for f in meta.schema]
        rows = self.call(lambda **kw: [dict(r.items()) for r in self.client().list_rows(
            meta, max_results=SAMPLE_ROWS, **kw)])
        return table_preview(self.columns(raw), rows, estimated_rows=meta.num_rows)


def _field_type(field) -> str:
    return f"ARRAY<{field.field_type}>" if field.mode == "REPEATED" else field.field_type


def _primary_key(meta) -> set[str]:
    constraints = getattr(meta, "table_constraints", None)
    key = getattr(constraints, "primary_key", None) if constraints else None
    return set(getattr(key, "columns", None) or [])


def _first_line(exc: Exception) -> str:
    text = getattr(exc, "message", None) or str(exc)
    return str(text).splitlines()[0][:300]

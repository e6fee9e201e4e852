"""Source adapters, one module per source kind, behind one small interface.

`get_adapter(kind, params, secrets)` returns an adapter with `test()`; table-like sources add `list_schemas()`,
`list_tables(schema)`, `describe_table(schema, table)`; file sources add `list_files(prefix, pattern, page,
page_size)` and `detect_file_schema(path, file_format, options)`. Cloud SDKs are imported inside the module
that needs them. Every failure is a `SourceError` with a readable message.
"""
from __future__ import annotations

import importlib
from typing import Any

from ml_platform.utils.connection_manager.base import SourceError, SourceNotFound, TestResult

ADAPTERS = {
    "postgresql": ("postgresql", "PostgresAdapter"),
    "mysql": ("mysql", "MySQLAdapter"),
    "sqlite": ("sqlite", "SQLiteAdapter"),
    "local_files": ("local_files", "LocalFilesAdapter"),
    "gcs": ("gcs", "GCSAdapter"),
    "s3": ("s3", "S3Adapter"),
    "azure_blob": ("azure_blob", "AzureBlobAdapter"),
    "bigquery": ("bigquery", "BigQueryAdapter"),
    "firestore": ("firestore", "FirestoreAdapter"),
}
FILE_KINDS = {"local_files", "gcs", "s3", "azure_blob"}
TABLE_KINDS = set(ADAPTERS) - FILE_KINDS

__all__ = ["ADAPTERS", "FILE_KINDS", "TABLE_KINDS", "SourceError", "SourceNotFound", "TestResult",
           "get_adapter", "test_connection"]


def get_adapter(kind: str, params: dict[str, Any], secrets: dict[str, str]):
    """The adapter for one source kind (its module imported on first use)."""
    if kind not in ADAPTERS:
        raise SourceError(f"Unsupported source type '{kind}'.", code="invalid")
    module_name, class_name = ADAPTERS[kind]
    module = importlib.import_module(f"{__name__}.{module_name}")
    return getattr(module, class_name)(params, secrets)


def test_connection(kind: str, params: dict[str, Any], secrets: dict[str, str]) -> TestResult:
    """Test a source; a failure that the source reported is a TestResult with ok=False, not an exception."""
    try:
        return get_adapter(kind, params, secrets).test()
    except SourceError as exc:
        return TestResult(False, exc.message, {"code": exc.code})

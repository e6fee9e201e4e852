"""Source type -> warehouse type mapping and BigQuery's safe widenings."""
import pytest

from ml_platform.utils.schema_mapper import is_safe_widening, map_type


@pytest.mark.parametrize("kind,source,duckdb,bigquery", [
    ("postgresql", "integer", "INTEGER", "INT64"),
    ("postgresql", "bigint", "BIGINT", "INT64"),
    ("postgresql", "numeric(12,2)", "DECIMAL(12,2)", "NUMERIC"),
    ("postgresql", "numeric(40,2)", "DOUBLE", "BIGNUMERIC"),
    ("postgresql", "numeric", "DECIMAL(38,9)", "NUMERIC"),
    ("postgresql", "timestamp with time zone", "TIMESTAMPTZ", "TIMESTAMP"),
    ("postgresql", "timestamp(3) without time zone", "TIMESTAMP", "DATETIME"),
    ("postgresql", "character varying(20)", "VARCHAR", "STRING"),
    ("postgresql", "jsonb", "JSON", "JSON"),
    ("postgresql", "text[]", "JSON", "JSON"),
    ("postgresql", "bytea", "BLOB", "BYTES"),
    ("postgresql", "uuid", "VARCHAR", "STRING"),
    ("mysql", "tinyint(1)", "BOOLEAN", "BOOL"),
    ("mysql", "int(11) unsigned", "INTEGER", "INT64"),
    ("mysql", "bigint(20) unsigned", "DECIMAL(20,0)", "NUMERIC"),
    ("mysql", "datetime", "TIMESTAMP", "DATETIME"),
    ("mysql", "timestamp", "TIMESTAMPTZ", "TIMESTAMP"),
    ("mysql", "enum('a','b')", "VARCHAR", "STRING"),
    ("sqlite", "INTEGER", "BIGINT", "INT64"),
    ("sqlite", "VARCHAR(10)", "VARCHAR", "STRING"),
    ("sqlite", "DATETIME", "TIMESTAMP", "DATETIME"),
    ("sqlite", "", "VARCHAR", "STRING"),
    ("bigquery", "INTEGER", "BIGINT", "INT64"),
    ("bigquery", "TIMESTAMP", "TIMESTAMPTZ", "TIMESTAMP"),
    ("bigquery", "ARRAY<STRING>", "JSON", "ARRAY<STRING>"),
    ("firestore", "double", "DOUBLE", "FLOAT64"),
    ("local_files", "timestamp[s]", "TIMESTAMP", "DATETIME"),
    ("gcs", "timestamp[us, tz=UTC]", "TIMESTAMPTZ", "TIMESTAMP"),
    ("s3", "decimal128(10, 2)", "DECIMAL(10,2)", "NUMERIC"),
    ("azure_blob", "large_string", "VARCHAR", "STRING"),
])
def test_map_type(kind, source, duckdb, bigquery):
    assert map_type(kind, source) == {"duckdb": duckdb, "bigquery": bigquery}


@pytest.mark.parametrize("source,target,safe", [
    ("INT64", "NUMERIC", True), ("INTEGER", "FLOAT64", True), ("NUMERIC(10,2)", "BIGNUMERIC", True),
    ("INT64", "INT64", True), ("STRING", "STRING", True), ("FLOAT64", "INT64", False),
    ("STRING", "INT64", False), ("TIMESTAMP", "DATE", False), ("BIGNUMERIC", "NUMERIC", False),
])
def test_is_safe_widening(source, target, safe):
    assert is_safe_widening(source, target) is safe

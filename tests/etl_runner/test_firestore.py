"""Firestore source against Google's Firestore emulator (skipped where the emulator is not installed)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

from etl_runner.config import RunOptions, SourceConfig, TableConfig
from etl_runner.extract.base import get_source
from etl_runner.extract.firestore import FirestoreSource, column_kind

T0 = datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture
def fs_env(firestore_emulator, monkeypatch):
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", firestore_emulator.host)
    return firestore_emulator


@pytest.fixture
def collection(fs_env) -> str:
    name = f"users_{uuid.uuid4().hex[:8]}"
    client = fs_env.client()
    batch = client.batch()
    for i in range(25):
        doc = {
            "name": f"u{i}",
            "age": i,
            "score": 1.5 if i % 2 else 2,
            "active": i % 3 == 0,
            "address": {"city": "Zürich", "zip": i},
            "tags": ["a", str(i)],
            "updated_at": T0 + timedelta(seconds=i),
        }
        if i == 24:
            doc["late_field"] = "only here"
        batch.set(client.collection(name).document(f"d{i:02d}"), doc)
    batch.commit()
    return name


def source(batch_size: int = 10) -> FirestoreSource:
    cfg = SourceConfig(kind="firestore", params={"project_id": "test-proj"})
    return FirestoreSource(cfg, RunOptions(batch_size=batch_size))


def test_registry_maps_firestore():
    assert get_source("firestore") is FirestoreSource


def test_documents_are_flattened_with_document_id_and_one_schema(collection):
    table = TableConfig(table_id=1, source_table=collection, dest_dataset="x", dest_table="u")
    batches = list(source().read_table(table, None))
    assert [b.num_rows for b in batches] == [10, 10, 5]
    assert all(b.schema == batches[0].schema for b in batches)
    result = pa.Table.from_batches(batches)
    assert result.schema.field("document_id").type == pa.string()
    assert result.schema.field("age").type == pa.int64()
    assert result.schema.field("score").type == pa.float64()  # int and float mixed
    assert result.schema.field("updated_at").type == pa.timestamp("us", tz="UTC")
    rows = {r["document_id"]: r for r in result.to_pylist()}
    assert json.loads(rows["d03"]["address"]) == {"city": "Zürich", "zip": 3}
    assert json.loads(rows["d03"]["tags"]) == ["a", "3"]
    assert rows["d03"]["updated_at"] == T0 + timedelta(seconds=3)
    assert rows["d24"]["late_field"] == "only here" and rows["d00"]["late_field"] is None


def test_incremental_reads_only_documents_past_the_cursor(collection):
    table = TableConfig(
        table_id=1, source_table=collection, dest_dataset="x", dest_table="u",
        load_mode="incremental", cursor_column="updated_at", columns=["name", "updated_at"],
    )  # fmt: skip
    cursor = (T0 + timedelta(seconds=20)).isoformat()
    result = pa.Table.from_batches(list(source().read_table(table, cursor)))
    assert result.column_names == ["document_id", "name", "updated_at"]
    assert result.column("document_id").to_pylist() == ["d21", "d22", "d23", "d24"]
    back = table.model_copy(update={"lookback_seconds": 2})
    result = pa.Table.from_batches(list(source().read_table(back, cursor)))
    assert result.column("document_id").to_pylist()[0] == "d19"


def test_empty_result_yields_an_empty_batch_with_schema(collection):
    table = TableConfig(table_id=1, source_table=collection, dest_dataset="x", dest_table="u",
                        load_mode="incremental", cursor_column="updated_at")  # fmt: skip
    batches = list(source().read_table(table, (T0 + timedelta(days=1)).isoformat()))
    assert len(batches) == 1 and batches[0].num_rows == 0 and "document_id" in batches[0].schema.names


def test_column_kind_rules():
    assert column_kind({"int", "null"}) == "int"
    assert column_kind({"int", "float"}) == "float"
    assert column_kind({"int", "str"}) == "str"
    assert column_kind({"null"}) == "str"


def test_firestore_to_duckdb_pipeline(collection, tmp_path):
    from tests.etl_runner.runner_util import dest_rows, run_pipeline

    cfg = {
        "version": 1, "run_id": 1, "job": {"id": 1, "name": "fs", "project_id": 1},
        "source": {"kind": "firestore", "params": {"project_id": "test-proj"}},
        "destination": {"backend": "duckdb", "dataset": "p1_raw", "duckdb_path": str(tmp_path / "w.duckdb")},
        "tables": [{"table_id": 1, "source_table": collection, "dest_dataset": "p1_raw", "dest_table": "users",
                    "load_mode": "merge", "cursor_column": "updated_at", "primary_key": ["document_id"]}],
        "options": {"batch_size": 10},
    }  # fmt: skip
    result, _ = run_pipeline(cfg)
    assert result.status == "completed", result
    assert result.tables[0].rows_loaded == 25
    assert len(dest_rows(tmp_path / "w.duckdb", "users")) == 25

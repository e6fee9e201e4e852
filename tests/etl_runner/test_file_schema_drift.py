"""File tables whose files disagree on columns: the union schema, schema_drift 'add' / 'fail', type conflicts."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl_runner.config import RunOptions, SourceConfig, TableConfig
from etl_runner.extract.files import LocalFileSource
from tests.etl_runner.runner_util import dest_rows, job_config, run_pipeline

FORMATS = ["csv", "parquet"]


def write(root, name: str, fmt: str, columns: dict[str, list]) -> None:
    """One file of `columns` (name -> values); CSV writes None as an empty field."""
    path = root / f"{name}.{fmt}"
    if fmt == "parquet":
        pq.write_table(pa.table(columns), path)
        return
    rows = zip(*columns.values(), strict=True)
    lines = [",".join(columns), *(",".join("" if v is None else str(v) for v in row) for row in rows)]
    path.write_text("\n".join(lines) + "\n")


def cfg(root, tmp_path, fmt: str, drift: str = "add", mode: str = "append") -> dict:
    table = {"dest_table": "sales", "load_mode": mode, "schema_drift": drift,
             "file": {"prefix": "", "pattern": f"*.{fmt}", "format": fmt}}
    return job_config({"kind": "local_files", "params": {"path": str(root)}}, tmp_path / "w.duckdb", [table])


def ledger(tmp_path) -> dict[str, int]:
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT path, rows FROM p1_raw._etl_files ORDER BY path").fetchall()
    return {path.rsplit("/", 1)[-1]: n for path, n in rows}


def dest_columns(tmp_path) -> list[tuple[str, str]]:
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        return con.execute("SELECT column_name, data_type FROM information_schema.columns WHERE "
                           "table_schema = 'p1_raw' AND table_name = 'sales' ORDER BY ordinal_position").fetchall()


@pytest.fixture
def root(tmp_path):
    folder = tmp_path / "files"
    folder.mkdir()
    return folder


@pytest.mark.parametrize("fmt", FORMATS)
def test_new_column_in_a_later_file_of_the_same_run_is_added_and_other_files_get_null(root, tmp_path, fmt):
    write(root, "a", fmt, {"id": [1, 2], "v": ["x", "y"]})
    write(root, "b", fmt, {"id": [3], "w": [30], "v": ["z"]})  # new column w, columns in another order
    write(root, "c", fmt, {"id": [4], "v": ["q"]})
    result, reporter = run_pipeline(cfg(root, tmp_path, fmt))
    assert result.status == "completed", result.tables[0].error
    assert result.tables[0].files == 3 and result.tables[0].rows_loaded == 4
    assert dest_columns(tmp_path) == [("id", "BIGINT"), ("v", "VARCHAR"), ("w", "BIGINT")]
    assert dest_rows(tmp_path / "w.duckdb", "sales") == [(1, "x", None), (2, "y", None), (3, "z", 30), (4, "q", None)]
    assert ledger(tmp_path) == {f"a.{fmt}": 2, f"b.{fmt}": 1, f"c.{fmt}": 1}
    assert [(f["path"].rsplit("/", 1)[-1], f["rows"]) for f in reporter.files] == [
        (f"a.{fmt}", 2), (f"b.{fmt}", 1), (f"c.{fmt}", 1)]


@pytest.mark.parametrize("fmt", FORMATS)
def test_new_column_in_a_later_run_is_added_to_the_existing_table(root, tmp_path, fmt):
    write(root, "a", fmt, {"id": [1], "v": ["x"]})
    assert run_pipeline(cfg(root, tmp_path, fmt))[0].status == "completed"
    write(root, "b", fmt, {"id": [2], "v": ["y"], "w": [20]})
    result, _ = run_pipeline(cfg(root, tmp_path, fmt))
    assert result.status == "completed", result.tables[0].error
    assert dest_rows(tmp_path / "w.duckdb", "sales") == [(1, "x", None), (2, "y", 20)]


@pytest.mark.parametrize("fmt", FORMATS)
def test_new_column_in_a_later_file_with_drift_fail_fails_the_run_and_loads_nothing(root, tmp_path, fmt):
    write(root, "a", fmt, {"id": [1], "v": ["x"]})
    assert run_pipeline(cfg(root, tmp_path, fmt, drift="fail"))[0].status == "completed"
    write(root, "b", fmt, {"id": [2], "v": ["y"]})
    write(root, "c", fmt, {"id": [3], "v": ["z"], "w": [30], "u": ["new"]})
    result, reporter = run_pipeline(cfg(root, tmp_path, fmt, drift="fail"))
    error = result.tables[0].error
    assert result.status == "failed"
    assert f"c.{fmt}" in error and "['w', 'u']" in error and "schema_drift is 'fail'" in error
    assert dest_rows(tmp_path / "w.duckdb", "sales") == [(1, "x")]  # b was not committed either
    assert ledger(tmp_path) == {f"a.{fmt}": 1}
    assert reporter.files == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_incompatible_column_types_between_files_fail_naming_the_file_and_column(root, tmp_path, fmt):
    write(root, "a", fmt, {"id": [1], "v": ["x"]})
    write(root, "b", fmt, {"id": ["not a number"], "v": ["y"]})
    result, reporter = run_pipeline(cfg(root, tmp_path, fmt))
    error = result.tables[0].error
    assert result.status == "failed"
    assert f"b.{fmt}" in error and "'id'" in error and "int64" in error and "string" in error
    assert reporter.files == []
    assert dest_columns(tmp_path) == []  # the table was never created


def test_csv_int_and_float_columns_unify_to_double(root, tmp_path):
    write(root, "a", "csv", {"id": [1], "amount": [5]})
    write(root, "b", "csv", {"id": [2], "amount": [2.5]})
    result, _ = run_pipeline(cfg(root, tmp_path, "csv"))
    assert result.status == "completed", result.tables[0].error
    assert dest_columns(tmp_path) == [("id", "BIGINT"), ("amount", "DOUBLE")]
    assert dest_rows(tmp_path / "w.duckdb", "sales") == [(1, 5.0), (2, 2.5)]


def test_parquet_int32_and_int64_columns_unify_to_int64(root, tmp_path):
    pq.write_table(pa.table({"id": pa.array([1], pa.int32())}), root / "a.parquet")
    pq.write_table(pa.table({"id": pa.array([2**40], pa.int64())}), root / "b.parquet")
    result, _ = run_pipeline(cfg(root, tmp_path, "parquet"))
    assert result.status == "completed", result.tables[0].error
    assert dest_columns(tmp_path) == [("id", "BIGINT")]
    assert dest_rows(tmp_path / "w.duckdb", "sales") == [(1,), (2**40,)]


def test_int_value_that_a_double_cannot_hold_exactly_fails_instead_of_rounding(root, tmp_path):
    pq.write_table(pa.table({"id": pa.array([0.5])}), root / "a.parquet")
    pq.write_table(pa.table({"id": pa.array([2**53 + 1])}), root / "b.parquet")
    result, _ = run_pipeline(cfg(root, tmp_path, "parquet"))
    assert result.status == "failed"
    assert "b.parquet" in result.tables[0].error and "'id'" in result.tables[0].error
    assert "Exception" not in result.tables[0].error  # raised mid-stream: the source's message, not DuckDB's


@pytest.mark.parametrize("fmt", ["csv", "parquet", "json"])
def test_file_schema_is_the_schema_read_file_streams_with_selected_columns(root, fmt):
    if fmt == "json":
        (root / "a.json").write_text('{"id": 1, "v": "x", "w": 1.5}\n{"id": 2, "v": null, "w": 2}\n')
    else:
        write(root, "a", fmt, {"id": [1, 2], "v": ["x", None], "w": [1.5, 2.0]})
    table = TableConfig(table_id=1, dest_dataset="raw", dest_table="t", columns=["w", "id"],
                        file={"prefix": "", "pattern": f"*.{fmt}", "format": fmt})
    source = LocalFileSource(SourceConfig(kind="local_files", params={"path": str(root)}), RunOptions())
    [info] = source.list_files(table)
    schema = source.file_schema(table, info)
    assert schema.names == ["w", "id"] and schema.field("id").type == pa.int64()
    assert [b.schema for b in source.read_file(table, info)] == [schema]


@pytest.mark.parametrize("fmt", FORMATS)
def test_drift_fail_accepts_a_later_file_column_the_destination_already_has(root, tmp_path, fmt):
    """'fail' is about changing the destination: a column it already has is not new, whichever file brings it."""
    write(root, "a", fmt, {"id": [1], "v": ["x"], "w": [10]})
    assert run_pipeline(cfg(root, tmp_path, fmt, drift="fail"))[0].status == "completed"
    write(root, "b", fmt, {"id": [2], "v": ["y"]})  # the run's first file lacks w
    write(root, "c", fmt, {"id": [3], "v": ["z"], "w": [30]})
    result, _ = run_pipeline(cfg(root, tmp_path, fmt, drift="fail"))
    assert result.status == "completed", result
    assert dest_rows(tmp_path / "w.duckdb", "sales", "id") == [(1, "x", 10), (2, "y", None), (3, "z", 30)]

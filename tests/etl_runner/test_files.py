"""Local file source: listing, CSV/Parquet/JSON-lines streaming, options and broken files."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl_runner.config import RunOptions, SourceConfig, TableConfig
from etl_runner.extract.base import FileSource, SourceError, get_source
from etl_runner.extract.files import LocalFileSource, compression_for


def make_table(fmt: str = "csv", prefix: str = "", pattern: str = "*", columns=None, **options) -> TableConfig:
    return TableConfig(
        table_id=1,
        dest_dataset="raw",
        dest_table="t",
        columns=columns or [],
        file={"prefix": prefix, "pattern": pattern, "format": fmt, "options": options},
    )


def make_source(root: Path, batch_size: int = 1000) -> LocalFileSource:
    return LocalFileSource(
        SourceConfig(kind="local_files", params={"path": str(root)}), RunOptions(batch_size=batch_size)
    )


def read_all(source, table, file) -> pa.Table:
    return pa.Table.from_batches(list(source.read_file(table, file)))


def test_registry_maps_local_files_to_this_module():
    assert get_source("local_files") is LocalFileSource
    assert isinstance(make_source(Path("/")), FileSource)


def test_list_files_filters_by_prefix_and_pattern_sorted_with_size_and_mtime(tmp_path):
    (tmp_path / "sales" / "2024").mkdir(parents=True)
    (tmp_path / "sales" / "b.csv").write_text("x\n1\n")
    (tmp_path / "sales" / "2024" / "a.csv").write_text("x\n2\n")
    (tmp_path / "sales" / "notes.txt").write_text("hi")
    (tmp_path / "other.csv").write_text("x\n3\n")
    files = make_source(tmp_path).list_files(make_table(prefix="sales/", pattern="*.csv"))
    assert [Path(f.path).relative_to(tmp_path).as_posix() for f in files] == ["sales/2024/a.csv", "sales/b.csv"]
    assert files[1].size == 4
    assert files[1].modified_at.endswith("+00:00")


def test_missing_root_folder_is_a_source_error(tmp_path):
    with pytest.raises(SourceError, match="does not exist"):
        make_source(tmp_path / "nope")


def test_csv_options_delimiter_encoding_no_header_and_gzip(tmp_path):
    text = "1;Zoë;2.5\n2;Ünal;\n"
    (tmp_path / "a.csv.gz").write_bytes(gzip.compress(text.encode("latin-1")))
    table = make_table(delimiter=";", encoding="latin-1", has_header=False)
    source = make_source(tmp_path)
    [file] = source.list_files(table)
    result = read_all(source, table, file)
    assert result.column_names == ["f0", "f1", "f2"]
    assert result.column("f1").to_pylist() == ["Zoë", "Ünal"]
    assert result.column("f2").to_pylist() == [2.5, None]


def test_csv_streams_in_batches_of_batch_size(tmp_path):
    lines = "id,name\n" + "".join(f"{i},n{i}\n" for i in range(2500))
    (tmp_path / "big.csv").write_text(lines)
    source = make_source(tmp_path, batch_size=1000)
    table = make_table(columns=["id"])
    [file] = source.list_files(table)
    batches = list(source.read_file(table, file))
    assert [b.num_rows for b in batches] == [1000, 1000, 500]
    assert batches[0].schema.names == ["id"]


def test_parquet_read_with_iter_batches_and_column_selection(tmp_path):
    data = pa.table({"id": list(range(3000)), "v": [str(i) for i in range(3000)], "x": [1.5] * 3000})
    pq.write_table(data, tmp_path / "d.parquet", row_group_size=700)
    source = make_source(tmp_path, batch_size=1000)
    table = make_table("parquet", columns=["v", "id"])
    [file] = source.list_files(table)
    batches = list(source.read_file(table, file))
    assert all(b.num_rows <= 1000 for b in batches)
    result = pa.Table.from_batches(batches)
    assert result.num_rows == 3000
    assert sorted(result.column_names) == ["id", "v"]


def test_json_lines_nested_values_and_nulls(tmp_path):
    rows = [{"id": 1, "tags": ["a"], "meta": {"k": 1}}, {"id": 2, "tags": None, "meta": {"k": None}}]
    (tmp_path / "e.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    source = make_source(tmp_path)
    table = make_table("json")
    [file] = source.list_files(table)
    result = read_all(source, table, file)
    assert result.to_pylist() == rows


def test_broken_files_raise_source_error_naming_the_file(tmp_path):
    (tmp_path / "bad.parquet").write_bytes(b"not a parquet file at all")
    (tmp_path / "bad.csv").write_text("a,b\n1,2,3\n")
    (tmp_path / "bad.jsonl").write_text('{"a": 1}\n{"a": \n')
    source = make_source(tmp_path)
    for fmt, name in [("parquet", "bad.parquet"), ("csv", "bad.csv"), ("json", "bad.jsonl")]:
        table = make_table(fmt, pattern=name)
        [file] = source.list_files(table)
        with pytest.raises(SourceError, match=name.replace(".", r"\.")):
            list(source.read_file(table, file))


def test_file_deleted_after_listing_names_the_file(tmp_path):
    path = tmp_path / "gone.csv"
    path.write_text("a\n1\n")
    source = make_source(tmp_path)
    table = make_table()
    [file] = source.list_files(table)
    os.remove(path)
    with pytest.raises(SourceError, match="gone.csv"):
        list(source.read_file(table, file))


def test_missing_selected_column_is_reported(tmp_path):
    pq.write_table(pa.table({"a": [1]}), tmp_path / "x.parquet")
    source = make_source(tmp_path)
    table = make_table("parquet", columns=["a", "zzz"])
    [file] = source.list_files(table)
    with pytest.raises(SourceError, match="zzz"):
        list(source.read_file(table, file))


@pytest.mark.parametrize(
    ("path", "setting", "expected"),
    [("a.csv.gz", "infer", "gzip"), ("a.csv", "infer", None), ("a.csv.zst", "infer", "zstd"),
     ("a.csv", "gzip", "gzip"), ("a.csv.gz", "none", None)],
)  # fmt: skip
def test_compression_inference(path, setting, expected):
    assert compression_for(path, setting) == expected


def test_unknown_compression_is_rejected():
    with pytest.raises(SourceError, match="unsupported compression"):
        compression_for("a.csv", "rar")


# ----------------------------------------------------------------------------- the file ledger (DuckDB)


def _ledger_config(root: Path, warehouse: Path, on_changed: str = "reload", mode: str = "append") -> dict:
    return {
        "version": 1, "run_id": 1, "job": {"id": 1, "name": "files", "project_id": 1},
        "source": {"kind": "local_files", "params": {"path": str(root)}},
        "destination": {"backend": "duckdb", "dataset": "p1_raw", "duckdb_path": str(warehouse)},
        "tables": [{"table_id": 1, "dest_dataset": "p1_raw", "dest_table": "events", "load_mode": mode,
                    "file": {"pattern": "*.csv", "format": "csv", "on_changed_file": on_changed}}],
        "options": {"batch_size": 1000},
    }  # fmt: skip


def _ids(warehouse: Path) -> list[int]:
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        return [r[0] for r in con.execute("SELECT id FROM p1_raw.events ORDER BY id").fetchall()]


@pytest.mark.parametrize(("rule", "expected_ids"), [("reload", [1, 2, 3, 3, 4, 9]), ("skip", [1, 2, 3, 9])])
def test_ledger_loads_new_and_late_files_once_and_changed_files_per_rule(tmp_path, rule, expected_ids):
    from tests.etl_runner.runner_util import run_pipeline

    root, wh = tmp_path / "in", tmp_path / "w.duckdb"
    root.mkdir()
    (root / "a.csv").write_text("id\n1\n2\n")
    (root / "b.csv").write_text("id\n3\n")
    cfg = _ledger_config(root, wh, rule)
    first, _ = run_pipeline(cfg)
    assert first.status == "completed" and first.tables[0].files == 2
    assert run_pipeline(cfg)[0].tables[0].files == 0  # unchanged: nothing loaded twice
    (root / "b.csv").write_text("id\n3\n4\n")  # changed
    late = root / "0_late.csv"
    late.write_text("id\n9\n")
    os.utime(late, (946684800, 946684800))  # modified in 2000: older than every loaded file
    third, _ = run_pipeline(cfg)
    assert third.status == "completed", third
    assert _ids(wh) == expected_ids


def test_changed_file_with_rule_fail_fails_the_run(tmp_path):
    from tests.etl_runner.runner_util import run_pipeline

    root, wh = tmp_path / "in", tmp_path / "w.duckdb"
    root.mkdir()
    (root / "a.csv").write_text("id\n1\n")
    cfg = _ledger_config(root, wh, "fail")
    assert run_pipeline(cfg)[0].status == "completed"
    (root / "a.csv").write_text("id\n1\n2\n")
    result, _ = run_pipeline(cfg)
    assert result.status == "failed" and "a.csv" in result.tables[0].error


def test_broken_file_fails_the_run_and_commits_nothing(tmp_path):
    from tests.etl_runner.runner_util import run_pipeline

    root, wh = tmp_path / "in", tmp_path / "w.duckdb"
    root.mkdir()
    (root / "a.csv").write_text("id\n1\n")
    cfg = _ledger_config(root, wh)
    assert run_pipeline(cfg)[0].status == "completed"
    (root / "b.csv").write_text("id\n2\n")
    (root / "c.csv").write_text("id\n3,4,5\n")  # wrong number of columns
    result, _ = run_pipeline(cfg)
    assert result.status == "failed" and "c.csv" in result.tables[0].error
    assert "Exception" not in result.tables[0].error  # the source's own message, not DuckDB's wrapping of it
    assert _ids(wh) == [1]  # b.csv was not committed either: the next run loads it
    (root / "c.csv").write_text("id\n3\n")
    assert run_pipeline(cfg)[0].status == "completed"
    assert _ids(wh) == [1, 2, 3]

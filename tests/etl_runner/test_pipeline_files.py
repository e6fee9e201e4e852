"""The pipeline with a file source: the `_etl_files` ledger decides what loads; files are mirrored to the reporter."""

from __future__ import annotations

import os
import time

import duckdb

from tests.etl_runner.runner_util import dest_rows, job_config, run_pipeline


def write_csv(root, name, rows, mtime=None):
    path = root / name
    path.write_text("id,v\n" + "".join(f"{i},{v}\n" for i, v in rows))
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def cfg(root, tmp_path, mode="append", on_changed="reload"):
    table = {"dest_table": "sales", "load_mode": mode,
             "file": {"prefix": "", "pattern": "*.csv", "format": "csv", "on_changed_file": on_changed}}
    return job_config({"kind": "local_files", "params": {"path": str(root)}}, tmp_path / "w.duckdb", [table])


def ledger(tmp_path):
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        return dict(con.execute("SELECT path, rows FROM p1_raw._etl_files ORDER BY path").fetchall())


def test_new_files_load_once_and_late_files_are_picked_up(tmp_path):
    root = tmp_path / "files"
    root.mkdir()
    write_csv(root, "a.csv", [(1, "x"), (2, "y")])
    first, reporter = run_pipeline(cfg(root, tmp_path))
    assert first.status == "completed" and first.tables[0].files == 1
    assert [f["rows"] for f in reporter.files] == [2]
    again, _ = run_pipeline(cfg(root, tmp_path))
    assert again.tables[0].rows_loaded == 0  # unchanged file: not loaded twice
    write_csv(root, "0-late.csv", [(3, "z")], mtime=time.time() - 86400 * 365)
    late, _ = run_pipeline(cfg(root, tmp_path))
    assert late.tables[0].files == 1
    assert sorted(r[0] for r in dest_rows(tmp_path / "w.duckdb", "sales")) == [1, 2, 3]
    assert set(ledger(tmp_path).values()) == {2, 1}


def test_changed_file_follows_the_rule(tmp_path):
    root = tmp_path / "files"
    root.mkdir()
    write_csv(root, "a.csv", [(1, "x")], mtime=1_700_000_000)
    run_pipeline(cfg(root, tmp_path))
    write_csv(root, "a.csv", [(1, "x"), (2, "y")], mtime=1_700_000_100)
    skipped, _ = run_pipeline(cfg(root, tmp_path, on_changed="skip"))
    assert skipped.tables[0].rows_loaded == 0
    failed, _ = run_pipeline(cfg(root, tmp_path, on_changed="fail"))
    assert failed.status == "failed" and "changed" in failed.tables[0].error
    reloaded, _ = run_pipeline(cfg(root, tmp_path, on_changed="reload"))
    assert reloaded.tables[0].rows_loaded == 2


def test_broken_file_fails_the_run_and_records_nothing(tmp_path):
    root = tmp_path / "files"
    root.mkdir()
    write_csv(root, "a.csv", [(1, "x")])
    (root / "b.csv").write_text("id,v\n2,y,too,many\n")
    result, reporter = run_pipeline(cfg(root, tmp_path))
    assert result.status == "failed" and "b.csv" in result.tables[0].error
    assert reporter.files == []


def test_replace_mode_reloads_every_file(tmp_path):
    root = tmp_path / "files"
    root.mkdir()
    write_csv(root, "a.csv", [(1, "x")])
    write_csv(root, "b.csv", [(2, "y")])
    run_pipeline(cfg(root, tmp_path, mode="replace"))
    second, _ = run_pipeline(cfg(root, tmp_path, mode="replace"))
    assert second.tables[0].files == 2
    assert sorted(r[0] for r in dest_rows(tmp_path / "w.duckdb", "sales")) == [1, 2]

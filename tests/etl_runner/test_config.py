"""Job config v1: validation lists every problem; the runner never imports Django."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from etl_runner.config import ConfigError, json_schema, parse_config
from tests.etl_runner.runner_util import REPO, job_config


def valid_config(tmp_path) -> dict:
    return job_config({"kind": "sqlite", "params": {"path": "/x.db"}}, tmp_path / "w.duckdb",
                      [{"source_table": "orders", "dest_table": "orders"}])


def test_valid_config_parses_with_defaults(tmp_path):
    cfg = parse_config(valid_config(tmp_path))
    assert cfg.tables[0].load_mode == "replace"
    assert cfg.options.batch_size == 1000


def test_invalid_config_lists_every_problem(tmp_path):
    data = valid_config(tmp_path)
    data["surprise"] = 1
    data["destination"]["dataset"] = "bad name!"
    data["options"]["batch_size"] = 0
    data["tables"].append({"table_id": 2, "dest_dataset": "p1_raw", "dest_table": "x", "source_table": "y",
                           "load_mode": "merge", "bogus": True})
    data["tables"].append({"table_id": 3, "dest_dataset": "p1_raw", "dest_table": "z", "source_table": "y",
                           "load_mode": "upsert"})
    with pytest.raises(ConfigError) as err:
        parse_config(data)
    text = "\n".join(err.value.problems)
    assert "surprise" in text
    assert "destination.dataset" in text
    assert "options.batch_size" in text
    assert "tables.1.bogus" in text
    assert "tables.2.load_mode" in text
    assert len(err.value.problems) >= 5


def test_merge_without_cursor_or_key_names_both_problems(tmp_path):
    data = valid_config(tmp_path)
    data["tables"][0]["load_mode"] = "merge"
    with pytest.raises(ConfigError) as err:
        parse_config(data)
    text = "\n".join(err.value.problems)
    assert "cursor_column is required" in text and "primary_key is required" in text


def test_unknown_version_is_rejected(tmp_path):
    data = valid_config(tmp_path) | {"version": 2}
    with pytest.raises(ConfigError, match="unsupported config version"):
        parse_config(data)


def test_invalid_json_text_is_a_config_error():
    with pytest.raises(ConfigError, match="not valid JSON"):
        parse_config("{nope")


def test_json_schema_is_published_and_forbids_extra_keys():
    schema = json_schema()
    assert schema["additionalProperties"] is False
    assert {"version", "job", "source", "destination", "tables"} <= set(schema["required"])


def test_secrets_are_not_in_the_config_repr(tmp_path):
    data = valid_config(tmp_path)
    data["source"]["secrets"] = {"password": "hunter2-secret"}
    assert "hunter2-secret" not in repr(parse_config(data))


def test_importing_the_runner_loads_no_django():
    code = ("import sys, etl_runner, etl_runner.cli, etl_runner.pipeline, etl_runner.load.duckdb, "
            "etl_runner.extract.postgres, etl_runner.extract.mysql, etl_runner.extract.sqlite; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('django', 'ml_platform')]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().replace("'", '"')) == []


def test_contract_doc_embeds_the_current_json_schema():
    doc = (REPO / "docs" / "runner-contract.md").read_text()
    embedded = doc.split("## JSON Schema")[1].split("```json\n", 1)[1].split("\n```", 1)[0]
    assert json.loads(embedded) == json_schema(), "regenerate the schema in docs/runner-contract.md"

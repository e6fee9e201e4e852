"""Hypothesis strategies for hostile request input: wrong types, huge and unicode strings, nulls, extreme ids,
path traversal and glob tricks, SQL in identifiers, malformed JSON."""
from __future__ import annotations

import json

from hypothesis import strategies as st

SQL_TRICKS = ["orders; DROP TABLE canary; --", "\" OR 1=1 --", "'; DELETE FROM ml_platform_etlrun; --",
              "public\".\"canary", "`canary`", "pg_catalog", "information_schema", "x' UNION SELECT 1 --",
              "\\x00", "canary\x00", "$$; DROP TABLE canary; $$", "%s", "%(name)s", "{0}", "?"]
PATH_TRICKS = ["../", "../../etc/passwd", "..", "/etc/passwd", "sub/../../outside", "....//....//etc",
               "%2e%2e%2f", "..\\..\\windows", "~/", "sub/./../..", "*", "**", "**/*", "[!a]*", "{a,b}", "?",
               "\x00", "file:///etc/passwd", "gs://other-bucket/", "s3://other/", "/", "//", "sub//../.."]
HUGE_INTS = [-1, 0, -(2**63), 2**63, 2**64 + 1, 10**30, -(10**30), 2**31, 2**53 + 1]
FIELD_NAMES = [
    "name", "source_type", "description", "host", "port", "database", "schema", "username", "password",
    "sslmode", "path", "bucket_path", "service_account_json", "aws_access_key_id", "aws_secret_access_key",
    "aws_region", "endpoint_url", "azure_storage_account", "azure_account_key", "azure_sas_token",
    "connection_string", "project_id", "dataset", "connection_id", "tables", "schema_name", "source_table_name",
    "dest_table_name", "dest_dataset", "sync_mode", "incremental_column", "primary_key", "selected_columns",
    "historical_start_date", "is_file_based", "file_path_prefix", "file_pattern", "file_format",
    "file_format_options", "load_latest_only", "destination", "schedule_config", "schedule_type", "cron",
    "schedule_timezone", "schedule_time", "schedule_minute", "schedule_day_of_week", "schedule_day_of_month",
    "run_now", "model_id", "columns", "enabled", "paused", "delete_runs", "exclude_id", "full_refresh",
    "table_id", "status", "phase", "heartbeat", "progress", "error", "size", "rows", "generation", "etag",
    "modified_at", "prefix", "pattern", "page", "page_size", "table", "file_path", "delimiter", "encoding",
    "remove_table_ids", "schema_drift", "type", "message",
]
SAFE_HOSTS = ["127.0.0.1", "localhost", "", " ", "127.0.0.1; rm -rf /", "a" * 300, "::1", "127.0.0.1:5432"]


def nasty_text():
    return st.one_of(
        st.text(max_size=40),
        st.text(alphabet=st.characters(min_codepoint=0x80, max_codepoint=0x10FFFF,
                                       blacklist_categories=("Cs",)), max_size=20),
        st.sampled_from(SQL_TRICKS + PATH_TRICKS),
        st.integers(min_value=256, max_value=70_000).map(lambda n: "x" * n),
        st.just("\u202e\u0000\ufeff\U0001f4a9"),
    )


def scalars():
    return st.one_of(
        st.none(), st.booleans(), st.sampled_from(HUGE_INTS), st.integers(),
        st.floats(allow_nan=False, allow_infinity=False), nasty_text(),
    )


def json_values():
    return st.recursive(scalars(), lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=10), inner,
                                                     max_size=4)), max_leaves=12)


def bodies():
    """Objects with known and unknown keys and hostile values, plus non-objects."""
    objects = st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=12), json_values(), max_size=8)
    return st.one_of(objects, objects, json_values())


def host_safe(body):
    """Keep connection attempts on this machine: hosts come only from SAFE_HOSTS (ports are free to vary)."""
    if isinstance(body, dict):
        return {k: (v if k != "host" or v in SAFE_HOSTS else "127.0.0.1") for k, v in body.items()}
    return body


KNOWN_BAD_BODIES = [
    b"{", b"{\"name\":", b"[1,2", b"null", b"\"str\"", b"1e999999", b"NaN", b"{\"a\":NaN}", b"\xff\xfe{\x00}\x00",
    b"{\"name\": \"\\ud800\"}", b"{}" * 1000, b"[" * 5000 + b"]" * 5000, b"{\"a\":" * 3000 + b"1" + b"}" * 3000,
    b"{\"model_id\": 1e400}", b"\x00" * 64, b"{\"connection_id\": 1e400, \"name\": \"x\"}",
]


def raw_bodies():
    """Bytes that are not the JSON the endpoint wants: malformed, truncated, wrong encodings, huge."""
    return st.one_of(
        st.binary(max_size=200),
        st.sampled_from(KNOWN_BAD_BODIES),
        bodies().map(lambda b: json.dumps(b).encode()[:-1]),  # truncated JSON
    )


def query_params():
    return st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(min_size=1, max_size=10),
                           st.one_of(nasty_text(), st.sampled_from([str(i) for i in HUGE_INTS])), max_size=5)

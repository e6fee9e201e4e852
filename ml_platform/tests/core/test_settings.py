"""Production posture: unsafe settings refuse to start; the .env.example settings pass `check --deploy`."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _env_example() -> dict[str, str]:
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def _manage(args: list[str], env_overrides: dict[str, str], tmp_path) -> subprocess.CompletedProcess:
    # A production-like environment: nothing the test session itself set (browser tests allow async-unsafe ORM).
    dropped = ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update({"PLATFORM_DATA_DIR": str(tmp_path), **env_overrides})
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_check_deploy_is_clean_with_the_production_env_sample(tmp_path):
    env = _env_example()
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'db.sqlite3'}"  # check --deploy needs no live database
    result = _manage(["check", "--deploy", "--fail-level", "WARNING"], env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY"),
        ({"SECRET_KEY": "django-insecure-" + "x" * 60}, "SECRET_KEY"),
        ({"DEBUG": "true"}, "DEBUG"),
        ({"ALLOWED_HOSTS": "*"}, "ALLOWED_HOSTS"),
        ({"PLATFORM_BASE_URL": "http://example.com"}, "PLATFORM_BASE_URL"),
    ],
)
def test_production_refuses_to_start_with_unsafe_settings(tmp_path, override, expected):
    env = {**_env_example(), "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", **override}
    result = _manage(["check"], env, tmp_path)
    assert result.returncode != 0
    assert "Unsafe production settings" in result.stderr and expected in result.stderr


def test_boolean_settings_reject_anything_but_true_or_false(tmp_path):
    result = _manage(["check"], {"DEBUG": "yes"}, tmp_path)
    assert result.returncode != 0
    assert "DEBUG must be 'true' or 'false'" in result.stderr


def test_local_defaults_need_no_environment(tmp_path):
    result = _manage(["check"], {}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "django_secret_key").stat().st_mode & 0o777 == 0o600


def test_production_logs_are_json_lines_with_severity_and_request_id(tmp_path):
    env = {**_env_example(), "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    code = "import logging; logging.getLogger('ml_platform').warning('hello')"
    result = _manage(["shell", "-c", code], env, tmp_path)
    import json

    record = json.loads(result.stderr.strip().splitlines()[-1])
    assert record["severity"] == "WARNING" and record["message"] == "hello" and record["request_id"] == "-"

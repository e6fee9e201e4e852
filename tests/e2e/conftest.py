"""End-to-end fixtures: a live platform whose runner subprocesses call back over HTTP."""
import pytest


@pytest.fixture
def platform(live_server, settings, tmp_path):
    """The live server is the runner's API; the warehouse and run logs live in a fresh folder."""
    settings.PLATFORM_BASE_URL = live_server.url
    settings.WAREHOUSE_BACKEND = "duckdb"
    settings.WAREHOUSE_DUCKDB_PATH = str(tmp_path / "warehouse.duckdb")
    settings.RUN_LOG_DIR = tmp_path / "logs"
    settings.LAUNCHER_BACKEND = "local"
    return settings

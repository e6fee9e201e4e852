"""Browser tests: Debian's headless Chromium driven by Playwright against pytest-django's live server.

Every page a test opens is watched: console errors, uncaught exceptions and CSP violations fail the test.
"""
import os
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
# Django-async-unsafe checks trip on Playwright's event loop in the same thread as ORM calls in tests.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(items):
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium():
    """One headless Chromium for the session (never a downloaded browser)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `bash scripts/install_browser.sh` (apt-get install chromium).")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright is missing: run `bash scripts/install_browser.sh`.")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def platform(live_server, settings, tmp_path):
    """The live server as the runner's API address, with run logs and the warehouse in a fresh folder."""
    settings.PLATFORM_BASE_URL = live_server.url
    settings.WAREHOUSE_DUCKDB_PATH = str(tmp_path / "warehouse.duckdb")
    settings.STAGING_URL = (tmp_path / "staging").as_uri()
    settings.RUN_LOG_DIR = tmp_path / "logs" / "runs"
    settings.RUN_LOG_DIR.mkdir(parents=True)
    return live_server


@pytest.fixture
def browser_user(transactional_db, django_user_model):
    return django_user_model.objects.create_user(username="browser", password="browser-pass-123")


class PageWatch:
    """Console errors, page errors and CSP violations seen by a page (`allowed` lists expected ones)."""

    def __init__(self, page):
        self.problems: list[str] = []
        self.allowed: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))

    def _console(self, message):
        url = (message.location or {}).get("url", "")
        if any(fragment in f"{message.text} {url}" for fragment in self.allowed):
            return
        if message.type == "error" and not url.endswith("/favicon.ico"):
            self.problems.append(f"console error: {message.text} ({url})")
        elif "Content Security Policy" in message.text:
            self.problems.append(f"CSP: {message.text}")


@pytest.fixture
def page(chromium, platform, browser_user):
    """A logged-in page; the test fails if anything went wrong in the browser."""
    client = Client()
    client.force_login(browser_user)
    context = chromium.new_context(viewport={"width": 1400, "height": 900}, base_url=platform.url)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": platform.url}])
    context.set_default_timeout(15_000)
    tab = context.new_page()
    watch = PageWatch(tab)
    tab.watch = watch
    yield tab
    context.close()
    assert watch.problems == [], "\n".join(watch.problems)

"""Root pytest configuration: shared fixture plugins live in tests/fixtures/."""

pytest_plugins = ["tests.fixtures.databases", "tests.fixtures.emulators", "tests.fixtures.platform"]


def pytest_configure(config):
    """Fast password hashing in tests: the suite creates and logs in many users."""
    from django.conf import settings

    if settings.configured:
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

"""Root pytest configuration: shared fixture plugins live in tests/fixtures/."""

pytest_plugins: list[str] = []

"""ETL jobs and runs: every write and side effect (being built)."""


def runs_start_for_project(*, project, user) -> dict:
    """Start a run of every enabled job of the project."""
    raise NotImplementedError

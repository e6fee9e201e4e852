"""A fingerprint of every ml_platform table: row counts and a hash of all values, to prove nothing changed."""
from __future__ import annotations

import hashlib

from django.apps import apps


def db_fingerprint() -> dict[str, tuple[int, str]]:
    """{table: (row count, sha256 of every row ordered by pk)} for all ml_platform models."""
    state = {}
    for model in apps.get_app_config("ml_platform").get_models():
        rows = list(model.objects.order_by("pk").values_list())
        digest = hashlib.sha256(repr(rows).encode()).hexdigest()
        state[model._meta.db_table] = (len(rows), digest)
    return state


def changed_tables(before: dict, after: dict) -> list[str]:
    """Names of the tables whose count or content differ."""
    return sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))

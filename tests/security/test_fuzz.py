"""Fuzz every JSON endpoint with hypothesis: no 5xx on any input, and a rejected request changes nothing.

Browser APIs are fuzzed as the owner (the deepest code path), the runner API with the right run token, the
webhook with a valid scheduler token. Example counts stay modest so the whole file runs in about a minute.
"""
from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.security import strategies as hs
from tests.security.conftest import logged_in
from tests.security.dbstate import changed_tables, db_fingerprint
from tests.security.routes import API, RULES, RUNNER, WEBHOOK, all_routes
from tests.security.test_access_matrix import is_upstream_error

FUZZ = settings(max_examples=10, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])
API_ROUTES = sorted(n for n, r in RULES.items() if r.kind == API)
TOKEN_ROUTES = sorted(n for n, r in RULES.items() if r.kind == RUNNER)
POST_ROUTES = sorted(n for n, r in RULES.items() if r.method == "POST" and r.kind in (API, RUNNER, WEBHOOK))


class Probe:
    """Send one request and check the platform's promises about it."""

    def __init__(self, client, headers=None):
        self.client, self.headers = client, headers or {}

    def send(self, method: str, path: str, *, body: bytes | None = None, query: dict | None = None,
             extra: dict | None = None):
        before = db_fingerprint()
        headers = {**self.headers, **(extra or {})}
        if method == "GET":
            response = self.client.get(path, data=query or {}, **headers)
        else:
            response = self.client.post(path, data=body if body is not None else b"{}",
                                        content_type="application/json", **headers)
        where = f"{method} {path} body={(body or b'')[:200]!r} query={query!r}: {response.status_code} " \
                f"{response.content[:300]!r}"
        assert response.status_code < 500 or is_upstream_error(response), where
        if 400 <= response.status_code < 500:
            assert changed_tables(before, db_fingerprint()) == [], f"rejected but changed the database: {where}"
            if response.get("Content-Type", "").startswith("application/json"):
                payload = response.json()
                assert payload["status"] == "error" and isinstance(payload["message"], str), where
                assert "Traceback" not in payload["message"], where
        return response


def _path(name, world):
    return RULES[name].build(world)[0]


@pytest.mark.parametrize("name", API_ROUTES)
def test_browser_api_survives_hostile_json(name, world):
    probe = Probe(logged_in(world.owner))
    rule = RULES[name]

    @FUZZ
    @given(body=hs.bodies(), query=hs.query_params())
    def check(body, query):
        body = hs.host_safe(body)
        if rule.method == "GET":
            probe.send("GET", _path(name, world), query=query)
        else:
            probe.send("POST", _path(name, world), body=json.dumps(body).encode())

    check()


@pytest.mark.parametrize("name", POST_ROUTES)
def test_malformed_bodies_are_a_400_not_a_crash(name, world):
    rule = RULES[name]
    token = {RUNNER: world.run_token, WEBHOOK: world.scheduler_token()}.get(rule.kind)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    probe = Probe(logged_in(world.owner), headers)

    for raw in hs.KNOWN_BAD_BODIES:  # every classic, every route
        probe.send("POST", _path(name, world), body=raw)

    @settings(FUZZ, max_examples=5)
    @given(raw=hs.raw_bodies())
    def check(raw):
        probe.send("POST", _path(name, world), body=raw)

    check()


@pytest.mark.parametrize("name", TOKEN_ROUTES)
def test_runner_api_survives_hostile_json(name, world):
    probe = Probe(logged_in(world.owner), {"HTTP_AUTHORIZATION": f"Bearer {world.run_token}"})
    rule = RULES[name]

    @FUZZ
    @given(body=hs.bodies(), query=hs.query_params())
    def check(body, query):
        if rule.method == "GET":
            probe.send("GET", _path(name, world), query=query)
        else:
            probe.send("POST", _path(name, world), body=json.dumps(body).encode())

    check()


def test_run_update_with_structured_garbage_never_crashes(world):
    probe = Probe(logged_in(world.owner), {"HTTP_AUTHORIZATION": f"Bearer {world.run_token}"})
    table = st.fixed_dictionaries({"table_id": st.sampled_from([world.table.pk, world.job_b.tables.get().pk,
                                                                *hs.HUGE_INTS])},
                                  optional={"rows_read": hs.scalars(), "cursor_after": hs.scalars(),
                                            "status": st.sampled_from(["completed", "failed", "bogus"]),
                                            "phases": hs.json_values()})
    update = st.fixed_dictionaries({}, optional={
        "status": st.sampled_from(["running", "completed", "failed", "partial", "cancelled", None]),
        "phase": st.sampled_from(["extract", "load", "nope"]), "tables": st.lists(table, max_size=3),
        "progress": st.fixed_dictionaries({}, optional={"rows": hs.scalars(), "rows_total": hs.scalars()}),
        "error": st.fixed_dictionaries({}, optional={"type": hs.nasty_text(), "message": hs.nasty_text()})})

    @settings(FUZZ, max_examples=40)
    @given(body=update)
    def check(body):
        path = reverse("api_etl_run_update", args=[world.active_run.pk])
        response = probe.send("POST", path, body=json.dumps(body).encode())
        if response.status_code == 200:
            other_table = world.job_b.tables.get()
            assert other_table.cursor_value in ("", None), "a runner changed another job's cursor"

    check()


def test_webhook_survives_hostile_headers_and_bodies(world, settings):
    settings.SCHEDULER_WEBHOOK_RATE_LIMIT = 10_000
    probe = Probe(logged_in(world.owner), {"HTTP_AUTHORIZATION": f"Bearer {world.scheduler_token()}"})

    @FUZZ
    @given(body=hs.raw_bodies() | hs.bodies().map(lambda b: json.dumps(b).encode()),
           schedule_time=hs.nasty_text() | st.sampled_from(["2026-06-01T10:00:00Z", "9999-12-31T23:59:59Z",
                                                             "0001-01-01T00:00:00", "2026-13-45T99:99:99Z"]))
    def check(body, schedule_time):
        probe.send("POST", reverse("api_etl_scheduler_webhook", args=[world.job.pk]), body=body,
                   extra={"HTTP_X_CLOUDSCHEDULER_SCHEDULETIME": schedule_time.replace("\x00", "")})

    check()


INT_ROUTES = [(name, pattern) for name, pattern, _ in all_routes()
              if name in RULES and "<int:" in pattern]


@pytest.mark.parametrize("huge", ["99999999999999999999999999999", "9223372036854775808", "0", "00000001"])
def test_huge_zero_and_padded_ids_in_urls_are_404_for_every_route(huge, world):
    probe = Probe(logged_in(world.owner))
    for name, pattern in INT_ROUTES:
        rule = RULES[name]
        path = "/" + re.sub(r"<int:\w+>", huge, pattern)
        _, data = rule.build(world)
        if rule.method == "GET":
            response = probe.send("GET", path, query=data)
        else:
            response = probe.send("POST", path, body=json.dumps(data).encode())
        if huge != "00000001":
            assert response.status_code in (302, 401, 404), (name, response.status_code)


@pytest.mark.parametrize("name", ["api_etl_add_source", "api_etl_create_job", "api_etl_validate_schema_compatibility",
                                  "api_etl_test_connection_wizard", "api_etl_check_job_name", "api_etl_run_source"])
def test_huge_and_negative_ids_in_bodies_are_rejected_cleanly(name, world):
    probe = Probe(logged_in(world.owner))
    path, base = RULES[name].build(world)
    for value in hs.HUGE_INTS + [None, "1", 1.5, True, [1], {"id": 1}]:
        for key in ("connection_id", "model_id", "exclude_id", "tables"):
            if key in base or key == "tables":
                probe.send("POST", path, body=json.dumps({**base, key: value}).encode())

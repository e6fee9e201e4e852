"""Route-wide access matrix: every route Django resolves × every kind of caller → the expected answer.

Callers: anonymous; another user's session; the owner's session; a run token of another run; the right run
token; the scheduler with no token, a forged token, a token for another job, and a valid token. Rejections
change nothing in the database.
"""
from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from tests.security.conftest import logged_in
from tests.security.dbstate import changed_tables, db_fingerprint
from tests.security.routes import ADMIN, API, PAGE, PUBLIC, RULES, RUNNER, WEBHOOK, all_routes, rule_for

CALLERS = ["anonymous", "other_user", "runner_other_run", "sched_none", "sched_forged", "sched_other_job",
           "owner", "runner_right", "sched_valid"]  # allowed callers last: their calls may change the state
SESSION = {"other_user", "owner"}
ALLOWED = "allowed"  # any answer but 5xx / 401 / 403 / 404 (validation errors and conflicts are fine)
# 502 is the platform's answer when the *source* is unreachable (the connection points at a closed port): an
# upstream failure reported with the error envelope, not a server fault. 501 is the declared answer of the
# training / deployment stubs (domains not built yet). 500 is never allowed.
NAMED_ROUTES = sorted(name for name, _, _ in all_routes() if name and not name.startswith("admin:"))


def _client(world, caller: str) -> tuple[Client, dict]:
    if caller == "owner":
        return logged_in(world.owner), {}
    if caller == "other_user":
        return logged_in(world.other), {}
    token = {"runner_other_run": world.other_run_token, "runner_right": world.run_token,
             "sched_forged": "eyJqb2IiOjF9:1abcde:forged-signature", "sched_other_job": world.scheduler_token(
                 world.job_b), "sched_valid": world.scheduler_token()}.get(caller)
    return Client(), ({"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {})


def call(client: Client, rule, world, headers: dict):
    """Send the rule's request: GET with a query string, POST with a JSON body."""
    path, data = rule.build(world)
    if rule.method == "GET":
        return client.get(path, data=data, **headers)
    return client.post(path, data=json.dumps(data), content_type="application/json", **headers)


def expected(rule, caller: str):
    """The answer a caller must get from a route of this kind."""
    if rule.kind == PUBLIC:
        return ALLOWED
    if rule.kind == PAGE:
        if caller not in SESSION:
            return "login_redirect"
        return 404 if caller == "other_user" and rule.scoped else 200
    if rule.kind == API:
        if caller not in SESSION:
            return 401
        return 404 if caller == "other_user" and rule.scoped else ALLOWED
    if rule.kind == RUNNER:
        return {"runner_right": 200, "runner_other_run": (401, 403)}.get(caller, 401)
    if rule.kind == WEBHOOK:
        return 200 if caller == "sched_valid" else 401
    raise AssertionError(f"no expectation for {rule.kind}")


def _check(response, want, caller: str, name: str) -> None:
    where = f"{name} as {caller}: {response.status_code} {response.content[:300]!r}"
    if want == "login_redirect":
        assert response.status_code == 302 and response["Location"].startswith(reverse("login")), where
    elif want == ALLOWED:
        assert response.status_code not in (401, 403, 404), where
        assert response.status_code < 500 or is_upstream_error(response), where
    elif isinstance(want, tuple):
        assert response.status_code in want, where
    else:
        assert response.status_code == want, where
    if response.status_code in (401, 403, 404) and response.get("Content-Type", "").startswith("application/json"):
        body = response.json()
        assert body["status"] == "error" and body["message"], where


def is_upstream_error(response) -> bool:
    """502 (the source failed) or 501 (domain not built) with the JSON error envelope and a readable message."""
    if response.status_code not in (501, 502) or not response.get("Content-Type", "").startswith("application/json"):
        return False
    body = response.json()
    if response.status_code == 501 and body.get("code") != "not_implemented":
        return False
    return body.get("status") == "error" and bool(body.get("message")) and "Traceback" not in body["message"]


def test_every_route_has_an_access_rule():
    missing = [f"{name or '(unnamed)'} {pattern}" for name, pattern, _ in all_routes()
               if rule_for(name, pattern) is None]
    assert not missing, f"routes without an access rule in tests/security/routes.py: {missing}"
    stale = sorted(set(RULES) - set(NAMED_ROUTES))
    assert not stale, f"rules for routes that no longer exist: {stale}"


@pytest.mark.parametrize("name", NAMED_ROUTES)
def test_route_answers_each_caller_as_its_rule_says(name, world):
    rule = RULES[name]
    for caller in CALLERS:
        client, headers = _client(world, caller)
        before = db_fingerprint()
        response = call(client, rule, world, headers)
        _check(response, expected(rule, caller), caller, name)
        if response.status_code in (401, 403, 404, 405):
            assert changed_tables(before, db_fingerprint()) == [], f"{name} as {caller} changed the database"


def test_another_users_dashboard_does_not_list_the_owners_project(world):
    page = logged_in(world.other).get(reverse("system_dashboard")).content.decode()
    assert world.project.name not in page and "Intruder project" in page


def test_runner_token_does_not_open_browser_apis_or_pages(world):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {world.run_token}"}
    assert Client().get(reverse("api_etl_get_source", args=[world.job.pk]), **headers).status_code == 401
    assert Client().get(reverse("model_etl", args=[world.project.pk]), **headers).status_code == 302


def test_run_token_stops_working_when_the_run_ends(world):
    token = world.run_token
    world.active_run.status = "completed"
    world.active_run.save()
    response = Client().get(reverse("api_etl_job_config", args=[world.job.pk]), HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code in (401, 403, 409), response.content


def test_session_plus_wrong_token_is_still_refused_on_the_runner_api(world):
    client = logged_in(world.owner)
    response = client.post(reverse("api_etl_run_update", args=[world.active_run.pk]), data="{}",
                           content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {world.other_run_token}")
    assert response.status_code in (401, 403)


# --- the admin site ---

ADMIN_ROUTES = [(name, pattern) for name, pattern, _ in all_routes() if rule_for(name, pattern).kind == ADMIN]
ADMIN_OPEN = {"admin:login", "admin:view_on_site", "admin:logout"}


def _admin_path(pattern: str) -> str:
    import re

    return "/" + re.sub(r"<(?:\w+:)?\w+>", "1", pattern).replace("^", "").replace("$", "").replace("\\", "")


@pytest.mark.parametrize("caller", ["anonymous", "other_user"])
def test_admin_site_is_closed_to_anonymous_and_non_staff_users(caller, world):
    client = Client() if caller == "anonymous" else logged_in(world.other)
    for name, pattern in ADMIN_ROUTES:
        if name in ADMIN_OPEN or "(?P" in pattern:
            continue
        response = client.get(_admin_path(pattern))
        assert response.status_code == 302 and "/admin/login/" in response["Location"], (name, response.status_code)


# --- CSRF: every browser POST without the token is refused ---

BROWSER_POSTS = sorted(n for n, r in RULES.items() if r.method == "POST" and r.kind in (PAGE, API, PUBLIC))


@pytest.mark.parametrize("name", [*BROWSER_POSTS, "create_model_endpoint", "login"])
def test_browser_post_without_csrf_token_is_refused(name, world):
    rule = RULES[name]
    client = Client(enforce_csrf_checks=True)
    if name != "login":
        client.force_login(world.owner)
    path = rule.build(world)[0]
    before = db_fingerprint()
    response = client.post(path, data=json.dumps(rule.build(world)[1]), content_type="application/json")
    assert response.status_code == 403, (name, response.status_code)
    assert changed_tables(before, db_fingerprint()) == []


@pytest.mark.parametrize("name", sorted(n for n, r in RULES.items() if r.kind in (RUNNER, WEBHOOK)
                                        and r.method == "POST"))
def test_token_apis_do_not_depend_on_csrf(name, world):
    rule = RULES[name]
    token = world.run_token if rule.kind == RUNNER else world.scheduler_token()
    response = call(Client(enforce_csrf_checks=True), rule, world, {"HTTP_AUTHORIZATION": f"Bearer {token}"})
    assert response.status_code == 200, response.content

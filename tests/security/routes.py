"""The rule table: every named route of the platform, its caller class and one request that exercises it.

Built against Django's URL resolver (`all_routes`): a route without a rule here fails the access matrix, so a
new endpoint cannot ship without someone deciding who may call it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.urls import URLPattern, URLResolver, get_resolver, reverse

PUBLIC = "public"  # anyone: log-in page, health probe
PAGE = "page"  # browser page: session required, 302 to the login page otherwise
API = "api"  # browser JSON API: session required, 401 JSON otherwise
RUNNER = "runner"  # runner API: the bearer run token of that run, never a session
WEBHOOK = "webhook"  # scheduler webhook: a scheduler token (local HMAC here, OIDC in production)
ADMIN = "admin"  # Django admin: staff session only


@dataclass(frozen=True)
class Rule:
    kind: str
    method: str = "GET"
    # (world) -> (path, body or query dict)
    build: Callable = field(default=None)
    # True when the route reads or writes one of the owner's objects: another user must get a 404.
    scoped: bool = True


def _p(name: str, *args) -> Callable:
    return lambda w: (reverse(name, args=[a(w) for a in args]), {})


def _with(name: str, body: Callable, *args) -> Callable:
    return lambda w: (reverse(name, args=[a(w) for a in args]), body(w))


PROJECT = lambda w: w.project.pk  # noqa: E731
JOB = lambda w: w.job.pk  # noqa: E731
CONN = lambda w: w.connection.pk  # noqa: E731
RUN = lambda w: w.active_run.pk  # noqa: E731
FINISHED_RUN = lambda w: w.finished_run.pk  # noqa: E731
PIPELINE_RUN = lambda w: w.pipeline_run.pk  # noqa: E731

RULES: dict[str, Rule] = {
    # Auth and health
    "login": Rule(PUBLIC, "GET", _p("login"), scoped=False),
    "logout": Rule(PUBLIC, "POST", _p("logout"), scoped=False),
    "healthz": Rule(PUBLIC, "GET", _p("healthz"), scoped=False),
    # Pages
    "system_dashboard": Rule(PAGE, "GET", _p("system_dashboard"), scoped=False),
    "create_model_endpoint": Rule(PAGE, "GET", _p("create_model_endpoint"), scoped=False),
    "model_dashboard": Rule(PAGE, "GET", _p("model_dashboard", PROJECT)),
    "model_dataset": Rule(PAGE, "GET", _p("model_dataset", PROJECT)),
    "model_pipeline_config": Rule(PAGE, "GET", _p("model_pipeline_config", PROJECT)),
    "model_feature_engineering": Rule(PAGE, "GET", _p("model_feature_engineering", PROJECT)),
    "model_training": Rule(PAGE, "GET", _p("model_training", PROJECT)),
    "model_experiments": Rule(PAGE, "GET", _p("model_experiments", PROJECT)),
    "model_deployment": Rule(PAGE, "GET", _p("model_deployment", PROJECT)),
    "model_etl": Rule(PAGE, "GET", _p("model_etl", PROJECT)),
    "model_etl_runs_fragment": Rule(PAGE, "GET", _p("model_etl_runs_fragment", PROJECT)),
    # Project APIs
    "api_start_training": Rule(API, "POST", _p("api_start_training", PROJECT)),
    "api_start_etl": Rule(API, "POST", _p("api_start_etl", PROJECT)),
    "api_deploy_model": Rule(API, "POST", _p("api_deploy_model", PROJECT)),
    "api_pipeline_run_status": Rule(API, "GET", _p("api_pipeline_run_status", PIPELINE_RUN)),
    # ETL job APIs
    "api_etl_add_source": Rule(API, "POST", _with("api_etl_add_source", lambda w: {
        "name": "new job", "connection_id": w.connection.pk,
        "tables": [{"source_table_name": "t", "dest_table_name": "t", "dest_dataset": "raw_data",
                    "sync_mode": "replace"}]}, PROJECT)),
    "api_etl_save_draft_source": Rule(API, "POST", _with("api_etl_save_draft_source",
                                                        lambda w: {"name": "draft"}, PROJECT)),
    "api_etl_check_job_name": Rule(API, "POST", _with("api_etl_check_job_name",
                                                     lambda w: {"name": "orders sync"}, PROJECT)),
    "api_etl_toggle_enabled": Rule(API, "POST", _with("api_etl_toggle_enabled",
                                                     lambda w: {"enabled": True}, PROJECT)),
    "api_etl_run_now": Rule(API, "POST", _p("api_etl_run_now", PROJECT)),
    "api_etl_get_connections": Rule(API, "GET", _p("api_etl_get_connections", PROJECT)),
    "api_etl_create_job": Rule(API, "POST", _with("api_etl_create_job", lambda w: {
        "name": "wizard job", "connection_id": w.connection.pk, "tables": [],
        "schedule_config": {"schedule_type": "manual"}}, PROJECT)),
    "api_etl_get_source": Rule(API, "GET", _p("api_etl_get_source", JOB)),
    "api_etl_update_source": Rule(API, "POST", _with("api_etl_update_source",
                                                    lambda w: {"name": "renamed"}, JOB)),
    "api_etl_test_connection": Rule(API, "POST", _p("api_etl_test_connection", JOB)),
    "api_etl_run_source": Rule(API, "POST", _p("api_etl_run_source", JOB)),
    "api_etl_delete_source": Rule(API, "POST", _p("api_etl_delete_source", JOB)),
    "api_etl_toggle_pause": Rule(API, "POST", _p("api_etl_toggle_pause", JOB)),
    "api_etl_edit_source": Rule(API, "POST", _with("api_etl_edit_source", lambda w: {"name": "edited"}, JOB)),
    "api_etl_available_columns": Rule(API, "GET", _with("api_etl_available_columns",
                                                       lambda w: {"table_id": w.table.pk}, JOB)),
    "api_etl_trigger_now": Rule(API, "POST", _p("api_etl_trigger_now", JOB)),
    # Runs
    "api_etl_run_status": Rule(API, "GET", _p("api_etl_run_status", FINISHED_RUN)),
    "api_etl_run_cancel": Rule(API, "POST", _p("api_etl_run_cancel", RUN)),
    # Runner API (bearer run token)
    "api_etl_run_update": Rule(RUNNER, "POST", _with("api_etl_run_update",
                                                    lambda w: {"heartbeat": True, "phase": "extract"}, RUN)),
    "api_etl_job_config": Rule(RUNNER, "GET", _p("api_etl_job_config", JOB)),
    "api_etl_get_processed_files": Rule(RUNNER, "GET", _with("api_etl_get_processed_files",
                                                            lambda w: {"table_id": w.table.pk}, JOB)),
    "api_etl_record_processed_file": Rule(RUNNER, "POST", _with("api_etl_record_processed_file", lambda w: {
        "table_id": w.table.pk, "path": "sales/2024-01-01.csv", "size": 10, "rows": 1}, JOB)),
    # Scheduler webhook
    "api_etl_scheduler_webhook": Rule(WEBHOOK, "POST", _p("api_etl_scheduler_webhook", JOB)),
    # Wizard helpers (the project or connection is named in the body or the query)
    "api_etl_test_connection_wizard": Rule(API, "POST", lambda w: (reverse("api_etl_test_connection_wizard"), {
        "model_id": w.project.pk, "source_type": "postgresql", "host": "127.0.0.1",
        "port": w.connection.source_port, "database": "x", "username": "x", "password": "x"})),
    "api_etl_list_bq_tables": Rule(API, "GET", lambda w: (reverse("api_etl_list_bq_tables", args=["raw_data"]),
                                                         {"model_id": w.project.pk})),
    "api_etl_validate_schema_compatibility": Rule(API, "POST", lambda w: (
        reverse("api_etl_validate_schema_compatibility"),
        {"model_id": w.project.pk, "dest_dataset": "raw_data", "dest_table_name": "orders", "columns": []})),
    "api_etl_schedule_preview": Rule(API, "POST", lambda w: (reverse("api_etl_schedule_preview"), {
        "schedule_type": "cron", "cron": "0 9 * * 1-5", "schedule_timezone": "Europe/Warsaw"}), scoped=False),
    # Connections
    "api_connection_test_wizard": Rule(API, "POST", _with("api_connection_test_wizard", lambda w: {
        "source_type": "postgresql", "host": "127.0.0.1", "port": w.connection.source_port, "database": "x",
        "username": "x", "password": "x"}, PROJECT)),
    "api_connection_create": Rule(API, "POST", _with("api_connection_create", lambda w: {
        "name": "another db", "source_type": "postgresql", "host": "127.0.0.1", "port": 5432,
        "database": "x", "username": "x", "password": "x"}, PROJECT)),
    "api_connection_create_standalone": Rule(API, "POST", _with("api_connection_create_standalone", lambda w: {
        "name": "standalone db", "source_type": "sqlite", "path": "/nonexistent/x.db"}, PROJECT)),
    "api_connection_list": Rule(API, "GET", _p("api_connection_list", PROJECT)),
    "api_connection_get": Rule(API, "GET", _p("api_connection_get", CONN)),
    "api_connection_get_credentials": Rule(API, "GET", _p("api_connection_get_credentials", CONN)),
    "api_connection_test": Rule(API, "POST", _p("api_connection_test", CONN)),
    "api_connection_test_and_fetch_tables": Rule(API, "POST", _p("api_connection_test_and_fetch_tables", CONN)),
    "api_connection_update": Rule(API, "POST", _with("api_connection_update",
                                                    lambda w: {"description": "updated"}, CONN)),
    "api_connection_get_usage": Rule(API, "GET", _p("api_connection_get_usage", CONN)),
    "api_connection_delete": Rule(API, "POST", _p("api_connection_delete", CONN)),
    "api_connection_fetch_schemas": Rule(API, "GET", _p("api_connection_fetch_schemas", CONN)),
    "api_connection_fetch_tables_for_schema": Rule(API, "GET", _with("api_connection_fetch_tables_for_schema",
                                                                    lambda w: {"schema": "public"}, CONN)),
    "api_connection_fetch_table_preview": Rule(API, "GET", _with("api_connection_fetch_table_preview",
                                                                lambda w: {"schema": "public", "table": "t"},
                                                                CONN)),
    "api_connection_list_files": Rule(API, "GET", _p("api_connection_list_files", CONN)),
    "api_connection_detect_file_schema": Rule(API, "GET", _with("api_connection_detect_file_schema",
                                                               lambda w: {"path": "a.csv"}, CONN)),
    "api_etl_test_connection_in_wizard": Rule(API, "POST", _p("api_etl_test_connection_in_wizard", CONN)),
}


def _walk(patterns, prefix: str = "", namespace: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            ns = pattern.namespace or ""
            full = f"{namespace}:{ns}" if namespace and ns else (ns or namespace)
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), full)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
            yield name, prefix + str(pattern.pattern), pattern


def all_routes() -> list[tuple[str | None, str, URLPattern]]:
    """(name, path pattern, URLPattern) for every route Django resolves, includes recursed."""
    return list(_walk(get_resolver().url_patterns))


def rule_for(name: str | None, pattern: str) -> Rule | None:
    """The rule of a route; the admin site's own routes share one rule."""
    if name and name.startswith("admin:") or (name is None and pattern.startswith("admin/")):
        return Rule(ADMIN)
    return RULES.get(name or "")

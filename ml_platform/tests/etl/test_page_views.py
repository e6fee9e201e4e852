"""The ETL page and its fragments: tenancy, content, escaping and a constant number of queries."""
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ml_platform.models import ETLRun, RunStatus
from ml_platform.tests.factories import (
    ConnectionFactory,
    DataSourceFactory,
    DataSourceTableFactory,
    ETLRunFactory,
)

pytestmark = pytest.mark.django_db


def _job(project, **kwargs):
    job = DataSourceFactory(etl_config=project.etl_config, **kwargs)
    DataSourceTableFactory(data_source=job)
    return job


def _page(client, project, **params):
    return client.get(reverse("model_etl", args=[project.pk]), params)


def test_page_lists_connections_jobs_and_runs(owner_client, project):
    conn = ConnectionFactory(model_endpoint=project, name="Shop DB")
    job = _job(project, name="orders sync", connection=conn)
    ETLRunFactory(data_source=job, status=RunStatus.COMPLETED, total_rows_loaded=1234)
    response = _page(owner_client, project)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Shop DB" in body and "orders sync" in body and "Used by 1 job" in body
    assert 'id="etl-urls"' in body and 'id="etl-charts"' in body


def test_page_is_404_for_another_user_and_redirects_anonymous(client, other_client, project):
    assert _page(other_client, project).status_code == 404
    response = _page(client, project)
    assert response.status_code == 302 and "login" in response["Location"]


def test_fragment_is_404_for_another_user_and_redirects_anonymous(client, other_client, project):
    url = reverse("model_etl_runs_fragment", args=[project.pk])
    assert other_client.get(url).status_code == 404
    assert client.get(url).status_code == 302


def test_names_with_markup_are_escaped(owner_client, project):
    conn = ConnectionFactory(model_endpoint=project, name="<script>alert(1)</script>")
    job = _job(project, name="<script>alert(2)</script>", connection=conn)
    ETLRunFactory(data_source=job, status=RunStatus.FAILED, error_message="<script>alert(3)</script>")
    body = _page(owner_client, project).content.decode()
    assert "<script>alert(" not in body
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in body


def test_job_that_failed_twice_in_a_row_is_flagged_failing(owner_client, project):
    job = _job(project, name="flaky")
    ETLRunFactory(data_source=job, status=RunStatus.FAILED)
    ETLRunFactory(data_source=job, status=RunStatus.FAILED)
    response = _page(owner_client, project)
    flagged = {j.name: j.health for j in response.context["jobs"]}
    assert flagged["flaky"] == "failing"
    assert [j.name for j in response.context["attention"]] == ["flaky"]


def test_job_that_missed_its_schedule_is_flagged_late(owner_client, project):
    _job(project, name="nightly", schedule_type="daily", next_run_at=timezone.now() - timedelta(hours=2))
    _job(project, name="paused", schedule_type="daily", is_paused=True,
         next_run_at=timezone.now() - timedelta(hours=2))
    response = _page(owner_client, project)
    health = {j.name: j.health for j in response.context["jobs"]}
    assert health == {"nightly": "late", "paused": "paused"}


def test_runs_filters_and_pagination(owner_client, project):
    a, b = _job(project, name="a"), _job(project, name="b")
    for _ in range(30):
        ETLRunFactory(data_source=a, status=RunStatus.COMPLETED)
    ETLRunFactory(data_source=b, status=RunStatus.FAILED, error_message="password authentication failed")
    url = reverse("model_etl_runs_fragment", args=[project.pk])
    page = owner_client.get(url, {"job": a.pk, "page": 2}).context["runs_page"]
    assert page.paginator.count == 30 and len(page.object_list) == 5
    failed = owner_client.get(url, {"status": "failed"}).context["runs_page"]
    assert [r.data_source_id for r in failed.object_list] == [b.pk]
    searched = owner_client.get(url, {"q": "password"}).context["runs_page"]
    assert searched.paginator.count == 1
    assert owner_client.get(url, {"since": "not-a-date", "page": "x"}).status_code == 200


def test_run_detail_shows_stats_error_hint_and_other_projects_runs_are_hidden(owner_client, project, other_user):
    job = _job(project)
    table = job.tables.first()
    run = ETLRunFactory(data_source=job, status=RunStatus.FAILED, error_type="SourceError",
                        error_message="password authentication failed for user x", phase_timings={"extract": 2.5},
                        table_results=[{"table_id": table.pk, "status": "failed", "rows_read": 10,
                                        "cursor_before": None, "cursor_after": "5"}])
    url = reverse("model_etl_runs_fragment", args=[project.pk])
    body = owner_client.get(url, {"run": run.pk}).content.decode()
    assert "password authentication failed" in body and "Hint:" in body and table.dest_table_name in body
    foreign = ETLRunFactory(status=RunStatus.COMPLETED)
    assert owner_client.get(url, {"run": foreign.pk}).status_code == 404
    assert owner_client.get(url, {"run": "abc"}).status_code == 404


def test_jobs_and_connections_fragments(owner_client, project):
    _job(project, name="orders")
    ConnectionFactory(model_endpoint=project, name="Warehouse files", source_type="local_files")
    url = reverse("model_etl_runs_fragment", args=[project.pk])
    assert "orders" in owner_client.get(url, {"part": "jobs"}).content.decode()
    assert "Warehouse files" in owner_client.get(url, {"part": "connections"}).content.decode()


def _bulk_runs(jobs, per_job: int) -> None:
    now = timezone.now()
    runs = []
    for job in jobs:
        for i in range(per_job):
            started = now - timedelta(hours=i)
            status = RunStatus.FAILED if i % 7 == 0 else RunStatus.COMPLETED
            runs.append(ETLRun(etl_config=job.etl_config, model_endpoint=job.etl_config.model_endpoint,
                               data_source=job, job_name=job.name, status=status, started_at=started,
                               finished_at=started + timedelta(seconds=30 + i), total_rows_loaded=100 * i))
    ETLRun.objects.bulk_create(runs)


def _count_queries(client, project) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert _page(client, project).status_code == 200
    return len(ctx.captured_queries)


def test_page_query_count_does_not_grow_with_jobs_and_runs(owner_client, project):
    small = [_job(project, name=f"job {i}") for i in range(2)]
    _bulk_runs(small, 3)
    few = _count_queries(owner_client, project)
    many = [_job(project, name=f"bulk {i}") for i in range(48)]
    _bulk_runs(many, 40)
    assert _count_queries(owner_client, project) == few <= 14

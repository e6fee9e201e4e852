"""ETL page speed: 50 jobs and 10,000 runs. Prints server time and SQL query count of the ETL page and the
time of runs-table pages (the server-side pagination the page's scripts call).

Usage: .venv/bin/python bench/page_bench.py [--jobs 50] [--runs 10000] [--repeat 20]
Runs against a fresh app database in a temporary PLATFORM_DATA_DIR (SQLite unless DATABASE_URL is set).
"""
import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("PLATFORM_DATA_DIR", tempfile.mkdtemp(prefix="page-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def setup_data(jobs: int, runs: int):
    """A project with `jobs` jobs (one table each) and `runs` runs spread over the last 30 days."""
    from django.contrib.auth import get_user_model
    from django.db.models import F
    from django.utils import timezone

    from ml_platform import services
    from ml_platform.models import DataSource, DataSourceTable, ETLRun, RunStatus

    user = get_user_model().objects.create_user(username="bench", password="bench-pass-123")
    project = services.project_create(user=user, name="Bench")
    config = services.project_etl_config(project=project)
    sources = DataSource.objects.bulk_create(
        [DataSource(etl_config=config, name=f"job {i:02d}", source_type="postgresql", schedule_type="daily",
                    next_run_at=timezone.now() + timedelta(hours=i)) for i in range(jobs)])
    DataSourceTable.objects.bulk_create([DataSourceTable(data_source=s, source_table_name=f"t{s.pk}",
                                                         dest_table_name=f"t{s.pk}") for s in sources])
    now, batch = timezone.now(), []
    for i in range(runs):
        job = sources[i % jobs]
        started = now - timedelta(minutes=4 * i + 1)
        status = RunStatus.FAILED if i % 11 == 0 else RunStatus.COMPLETED
        batch.append(ETLRun(etl_config=config, model_endpoint=project, data_source=job, job_name=job.name,
                            status=status, started_at=started, finished_at=started + timedelta(seconds=20 + i % 90),
                            total_rows_loaded=1000 + i))
    ETLRun.objects.bulk_create(batch, batch_size=2000)
    ETLRun.objects.filter(model_endpoint=project).update(created_at=F("started_at"))  # auto_now_add overrode it
    return user, project


def measure(client, url: str, repeat: int) -> tuple[float, float, int]:
    """Median and p95 server time in ms, and the query count, of GET url."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm caches and templates
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    with CaptureQueriesContext(connection) as ctx:
        client.get(url)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1], len(ctx.captured_queries)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse

    setup_test_environment()
    call_command("migrate", verbosity=0)
    user, project = setup_data(args.jobs, args.runs)
    client = Client()
    client.force_login(user)
    fragment = reverse("model_etl_runs_fragment", args=[project.pk])
    job_id = project.etl_config.data_sources.order_by("pk").values_list("pk", flat=True).first()
    rows = [("ETL page", reverse("model_etl", args=[project.pk])),
            ("runs page 1", fragment), ("runs page 200", f"{fragment}?page=200"),
            ("runs filtered (job+failed)", f"{fragment}?job={job_id}&status=failed"),
            ("runs search", f"{fragment}?q=job%2007")]
    print(f"{args.jobs} jobs, {args.runs} runs, {args.repeat} requests each, database "
          f"{django.db.connection.vendor}")
    print(f"{'request':32} {'median ms':>10} {'p95 ms':>8} {'queries':>8}")
    for label, url in rows:
        median, p95, queries = measure(client, url, args.repeat)
        print(f"{label:32} {median:10.1f} {p95:8.1f} {queries:8d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

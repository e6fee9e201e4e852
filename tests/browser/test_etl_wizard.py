"""The ETL workspace in a real browser: wizard for a PostgreSQL table and for a folder of files, Run now
watched to completion by the real runner subprocess, then edit, pause and delete."""
import psycopg
import pytest
from playwright.sync_api import expect

from ml_platform import services
from ml_platform.models import DataSource, ETLRun, RunStatus

ROWS = 57


@pytest.fixture
def project(browser_user):
    return services.project_create(user=browser_user, name="Browser project")


@pytest.fixture
def orders_db(pg_database):
    with psycopg.connect(pg_database["dsn"], autocommit=True) as conn:
        conn.execute("CREATE TABLE orders (id integer PRIMARY KEY, customer text NOT NULL, amount numeric(10,2), "
                     "updated_at timestamptz NOT NULL)")
        conn.execute("INSERT INTO orders SELECT g, 'customer ' || g, g * 1.5, now() - make_interval(hours => g) "
                     "FROM generate_series(1, %s) g", (ROWS,))
        conn.execute("ANALYZE orders")
    return pg_database


def choose_connection(page, name):
    value = page.locator("#wz-connection option", has_text=name).get_attribute("value")
    page.select_option("#wz-connection", value)


def open_etl(page, project):
    page.goto(f"/models/{project.pk}/etl/")
    expect(page.locator("h1")).to_have_text("ETL")


def create_pg_connection(page, db):
    page.click("text=New connection")
    dialog = page.locator("#connection-dialog")
    dialog.locator("#conn-name").fill("Orders PG")
    dialog.locator("#conn-type").select_option("postgresql")
    dialog.locator("#conn-host").fill(db["host"])
    dialog.locator("#conn-port").fill(str(db["port"]))
    dialog.locator("#conn-database").fill(db["database"])
    dialog.locator("#conn-username").fill(db["username"])
    dialog.locator("#connection-test-button").click()
    expect(dialog.locator("#connection-test-result")).to_contain_text("Connection works")
    dialog.locator("#connection-save-button").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#connections-panel")).to_contain_text("Orders PG")


def test_wizard_creates_a_postgres_job_and_run_now_loads_every_row(page, project, orders_db):
    open_etl(page, project)
    create_pg_connection(page, orders_db)
    page.click("#new-job-button")
    page.fill("#wz-name", "Orders sync")
    expect(page.locator("#wz-name-status")).to_have_text("Name is available.")
    choose_connection(page, "Orders PG")
    page.click("#wizard-next")
    page.locator("#wz-tables label", has_text="orders").locator("input").check()
    expect(page.locator("#wz-tables")).to_contain_text(f"≈ {ROWS} rows")
    page.click("#wizard-next")
    config = page.locator("#wz-table-configs .table-config")
    expect(config.locator("input[value=merge]")).to_be_checked()
    expect(page.locator("#wz-cursor-0")).to_have_value("updated_at")
    expect(config.locator(".preview-wrap tbody tr")).to_have_count(20)
    page.click("#wizard-back")
    expect(page.locator("#wz-tables label", has_text="orders").locator("input")).to_be_checked()
    page.click("#wizard-next")
    page.click("#wizard-next")
    expect(page.locator("#wz-dest-0")).to_have_value("orders")
    page.click("#wizard-next")
    page.select_option("#wz-schedule-type", "daily")
    expect(page.locator("#wz-next-runs li")).to_have_count(5)
    page.select_option("#wz-schedule-type", "manual")
    expect(page.locator("#wz-run-now")).to_be_checked()
    page.click("#wizard-submit")
    expect(page.locator("#wizard")).to_be_hidden()
    expect(page.locator("#jobs-panel")).to_contain_text("Orders sync")
    first_run = page.locator("#runs-table tr.run-row").first
    expect(first_run.locator(".badge")).to_have_text("Completed", timeout=90_000)
    run = ETLRun.objects.get(data_source__name="Orders sync")
    assert run.status == RunStatus.COMPLETED and run.total_rows_loaded == ROWS
    first_run.click()
    expect(page.locator("#run-detail")).to_contain_text("orders")
    expect(page.locator("#run-detail")).to_contain_text(f"{ROWS} loaded")


def test_server_errors_show_next_to_their_field(page, project, orders_db):
    page.watch.allowed += ["status of 400"]  # the refused cron answers 400, as it should
    open_etl(page, project)
    create_pg_connection(page, orders_db)
    page.click("#new-job-button")
    page.click("#wizard-next")
    expect(page.locator("#wizard [data-error-for=name]")).to_have_text("Give the job a name.")
    page.fill("#wz-name", "Bad cron")
    choose_connection(page, "Orders PG")
    page.keyboard.press("Enter")
    page.locator("#wz-tables label", has_text="orders").locator("input").check()
    for _ in range(3):
        page.click("#wizard-next")
    page.select_option("#wz-schedule-type", "cron")
    page.fill("#wz-cron", "61 * * * *")
    page.click("#wizard-submit")
    expect(page.locator("[data-error-for='schedule_config.cron']")).not_to_be_empty()
    assert not DataSource.objects.filter(name="Bad cron").exists()


def test_wizard_creates_a_job_for_a_folder_of_files(page, project, tmp_path):
    folder = tmp_path / "drop"
    (folder / "sales").mkdir(parents=True)
    for day in range(1, 4):
        (folder / "sales" / f"sales_{day}.csv").write_text("sku,qty,sold_at\n" + "".join(
            f"A{i},{i},2024-01-0{day}T10:00:00\n" for i in range(10)))
    open_etl(page, project)
    page.click("text=New connection")
    page.fill("#conn-name", "Drop folder")
    page.select_option("#conn-type", "local_files")
    page.fill("#conn-path", str(folder))
    page.click("#connection-save-button")
    expect(page.locator("#connections-panel")).to_contain_text("Drop folder")
    page.click("#new-job-button")
    page.fill("#wz-name", "Sales files")
    choose_connection(page, "Drop folder")
    page.click("#wizard-next")
    page.fill("#wz-prefix", "sales/")
    page.fill("#wz-pattern", "*.csv")
    page.fill("#wz-file-table", "sales")
    expect(page.locator("#wz-files")).to_contain_text("3 matching files")
    page.click("#wizard-next")
    expect(page.locator("#wz-table-configs .preview-wrap tbody tr")).to_have_count(10)
    page.click("#wizard-next")
    page.click("#wizard-next")
    expect(page.locator("#wizard-error")).to_be_hidden()
    page.uncheck("#wz-run-now")
    page.click("#wizard-submit")
    expect(page.locator("#jobs-panel")).to_contain_text("Sales files")
    table = DataSource.objects.get(name="Sales files").tables.get()
    assert table.is_file_based and table.file_pattern == "*.csv" and table.dest_table_name == "sales"


def test_edit_pause_and_delete_a_job(page, project, orders_db):
    open_etl(page, project)
    create_pg_connection(page, orders_db)
    page.click("#new-job-button")
    page.fill("#wz-name", "Nightly orders")
    choose_connection(page, "Orders PG")
    page.click("#wizard-next")
    page.locator("#wz-tables label", has_text="orders").locator("input").check()
    for _ in range(3):
        page.click("#wizard-next")
    page.uncheck("#wz-run-now")
    page.click("#wizard-submit")
    row = page.locator("tr.job-row", has_text="Nightly orders")
    row.locator("[data-job-action=edit]").click()
    expect(page.locator("#wz-name")).to_have_value("Nightly orders")
    page.fill("#wz-name", "Nightly orders v2")
    for _ in range(4):
        page.click("#wizard-next")
    page.select_option("#wz-schedule-type", "hourly")
    page.click("#wizard-submit")
    expect(page.locator("#wizard")).to_be_hidden()
    row = page.locator("tr.job-row", has_text="Nightly orders v2")
    expect(row).to_be_visible()
    job = DataSource.objects.get(name="Nightly orders v2")
    assert job.schedule_type == "hourly"
    row.locator("[data-job-action=pause]").click()
    expect(row.locator(".badge", has_text="paused")).to_be_visible()
    job.refresh_from_db()
    assert job.is_paused
    row.locator("summary").click()
    row.locator("[data-job-action=delete]").click()
    page.locator("#confirm-ok").click()
    expect(page.locator("#jobs-panel")).not_to_contain_text("Nightly orders v2")
    assert not DataSource.objects.filter(pk=job.pk).exists()

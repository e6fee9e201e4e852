"""Every page opens without console errors or CSP violations, and markup in names is shown as text."""
import pytest
from django.utils import timezone
from playwright.sync_api import expect

from ml_platform import services
from ml_platform.models import Connection, DataSource, DataSourceTable, ETLRun, RunStatus

EVIL = "<script>window.__pwned = 1</script><img src=x onerror=window.__pwned=2>"


@pytest.fixture
def evil_project(browser_user):
    project = services.project_create(user=browser_user, name=f"Project {EVIL}")
    config = services.project_etl_config(project=project)
    conn = Connection.objects.create(model_endpoint=project, name=f"Conn {EVIL}", source_type="sqlite",
                                     file_path="/nowhere.sqlite")
    job = DataSource.objects.create(etl_config=config, name=f"Job {EVIL}", source_type="sqlite", connection=conn)
    DataSourceTable.objects.create(data_source=job, source_table_name="t", dest_table_name="t")
    now = timezone.now()
    ETLRun.objects.create(etl_config=config, model_endpoint=project, data_source=job, job_name=job.name,
                          status=RunStatus.FAILED, started_at=now, finished_at=now, error_message=f"boom {EVIL}")
    return project


PAGES = ["/", "/models/{id}/", "/models/{id}/etl/", "/models/{id}/dataset/", "/models/{id}/pipeline-config/",
         "/models/{id}/feature-engineering/", "/models/{id}/training/", "/models/{id}/experiments/",
         "/models/{id}/deployment/", "/models/create/"]


@pytest.mark.parametrize("path", PAGES)
def test_page_has_no_console_errors_and_shows_markup_as_text(page, evil_project, path):
    page.goto(path.format(id=evil_project.pk))
    page.wait_for_load_state("networkidle")
    assert page.evaluate("window.__pwned") is None
    if path != "/models/create/":
        expect(page.get_by_text("<script>window.__pwned = 1</script>", exact=False).first).to_be_visible()


def test_etl_dialogs_and_run_details_show_markup_as_text(page, evil_project):
    page.goto(f"/models/{evil_project.pk}/etl/")
    page.locator("tr.run-row").first.click()
    expect(page.locator("#run-detail")).to_contain_text("boom <script>")
    page.click("#new-job-button")
    option = page.locator("#wz-connection option").nth(1)
    assert "<script>" in option.text_content()
    page.keyboard.press("Escape")
    assert page.evaluate("window.__pwned") is None

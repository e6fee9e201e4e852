"""The main (non-ETL) JSON APIs: training/deploy answer 501 until built, pipeline run status is real."""
import pytest
from django.urls import reverse

from ml_platform.models import PipelineRun
from ml_platform.tests.factories import PipelineRunFactory


@pytest.mark.parametrize("name", ["api_start_training", "api_deploy_model"])
def test_unbuilt_ml_actions_answer_501_and_create_nothing(owner_client, project, name):
    response = owner_client.post(reverse(name, args=[project.pk]))
    assert response.status_code == 501
    body = response.json()
    assert body["status"] == "error" and body["code"] == "not_implemented"
    assert not PipelineRun.objects.exists()


@pytest.mark.parametrize("name", ["api_start_training", "api_deploy_model", "api_start_etl"])
def test_project_apis_are_404_for_another_user(other_client, project, name):
    assert other_client.post(reverse(name, args=[project.pk])).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["api_start_training", "api_deploy_model", "api_start_etl"])
def test_project_apis_are_401_for_anonymous(client, project, name):
    response = client.post(reverse(name, args=[project.pk]))
    assert response.status_code == 401
    assert response.json()["status"] == "error"


def test_pipeline_run_status_returns_the_run(owner_client, project):
    run = PipelineRunFactory(model_endpoint=project, status="running", metrics={"loss": 0.5})
    body = owner_client.get(reverse("api_pipeline_run_status", args=[run.pk])).json()
    assert body["status"] == "success"
    assert body["run"]["status"] == "running" and body["run"]["metrics"] == {"loss": 0.5}


def test_pipeline_run_status_is_404_for_another_user(other_client, project):
    run = PipelineRunFactory(model_endpoint=project)
    assert other_client.get(reverse("api_pipeline_run_status", args=[run.pk])).status_code == 404


def test_start_training_requires_post(owner_client, project):
    assert owner_client.get(reverse("api_start_training", args=[project.pk])).status_code == 405

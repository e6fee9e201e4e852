"""Main pages: login required, tenancy (other users get 404), real content and empty states."""
import pytest
from django.urls import reverse

from ml_platform.models import ETLConfiguration, ModelEndpoint, PipelineConfiguration
from ml_platform.tests.factories import ETLRunFactory, PipelineRunFactory, ProjectFactory, UserFactory

PROJECT_PAGES = [
    "model_dashboard",
    "model_dataset",
    "model_pipeline_config",
    "model_feature_engineering",
    "model_training",
    "model_experiments",
    "model_deployment",
    "model_etl",
]


@pytest.mark.django_db
@pytest.mark.parametrize("name", PROJECT_PAGES)
def test_project_page_redirects_anonymous_to_login(client, project, name):
    response = client.get(reverse(name, args=[project.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", PROJECT_PAGES)
def test_project_page_is_404_for_another_user(other_client, project, name):
    assert other_client.get(reverse(name, args=[project.pk])).status_code == 404


@pytest.mark.parametrize("name", PROJECT_PAGES)
def test_project_page_renders_for_owner_with_sidebar(owner_client, project, name):
    response = owner_client.get(reverse(name, args=[project.pk]))
    assert response.status_code == 200
    content = response.content.decode()
    assert project.name in content
    for label in ("Dashboard", "ETL", "Dataset", "Feature Engineering", "Pipeline Settings", "Training",
                  "Experiments", "Deployment"):
        assert label in content


@pytest.mark.parametrize("name", PROJECT_PAGES)
def test_project_page_renders_for_a_member(project, name):
    member = UserFactory(username="member")
    project.members.add(member)
    from django.test import Client

    client = Client()
    client.force_login(member)
    assert client.get(reverse(name, args=[project.pk])).status_code == 200


def test_project_page_for_missing_project_is_404(owner_client):
    assert owner_client.get(reverse("model_dashboard", args=[999999])).status_code == 404


@pytest.mark.django_db
def test_system_dashboard_requires_login(client):
    response = client.get(reverse("system_dashboard"))
    assert response.status_code == 302


def test_system_dashboard_lists_only_own_and_shared_projects_with_counters(owner_client, owner, project):
    ETLRunFactory(data_source__etl_config=project.etl_config)
    ProjectFactory(name="Someone else's secret project")
    shared = ProjectFactory(name="Shared with owner")
    shared.members.add(owner)
    response = owner_client.get(reverse("system_dashboard"))
    content = response.content.decode()
    assert "Retail demand" in content and "Shared with owner" in content
    assert "Someone else" not in content
    projects = {p.name: p for p in response.context["projects"]}
    assert projects["Retail demand"].run_count == 1
    assert projects["Retail demand"].job_count == 1


def test_system_dashboard_shows_empty_state(owner_client):
    assert "No projects yet" in owner_client.get(reverse("system_dashboard")).content.decode()


def test_create_project_creates_its_configurations_and_redirects(owner_client, owner):
    response = owner_client.post(reverse("create_model_endpoint"), {"name": "Churn", "description": "d"})
    project = ModelEndpoint.objects.get(name="Churn")
    assert response.status_code == 302
    assert response["Location"] == reverse("model_dashboard", args=[project.pk])
    assert project.created_by == owner
    assert ETLConfiguration.objects.filter(model_endpoint=project).exists()
    assert PipelineConfiguration.objects.filter(model_endpoint=project).exists()


def test_create_project_with_blank_name_shows_error_and_creates_nothing(owner_client):
    response = owner_client.post(reverse("create_model_endpoint"), {"name": "   ", "description": ""})
    assert response.status_code == 200
    assert not ModelEndpoint.objects.exists()
    assert response.context["form"].errors["name"]


def test_pipeline_config_form_saves_valid_values(owner_client, project):
    url = reverse("model_pipeline_config", args=[project.pk])
    data = {"model_type": "ranking", "training_table": "raw_data.orders", "target_column": "amount",
            "train_fraction": "0.7", "validation_fraction": "0.2", "epochs": "5", "learning_rate": "0.01",
            "feature_columns_text": "customer_id, product_id"}
    assert owner_client.post(url, data).status_code == 302
    config = PipelineConfiguration.objects.get(model_endpoint=project)
    assert config.model_type == "ranking"
    assert config.feature_columns == ["customer_id", "product_id"]


def test_pipeline_config_form_rejects_fractions_that_leave_no_test_split(owner_client, project):
    url = reverse("model_pipeline_config", args=[project.pk])
    data = {"model_type": "ranking", "train_fraction": "0.8", "validation_fraction": "0.3", "epochs": "5",
            "learning_rate": "0.01"}
    response = owner_client.post(url, data)
    assert response.status_code == 200
    assert "validation_fraction" in response.context["form"].errors


def test_training_page_lists_real_runs(owner_client, project):
    PipelineRunFactory(model_endpoint=project, kind="training", status="completed", metrics={"auc": 0.91})
    content = owner_client.get(reverse("model_training", args=[project.pk])).content.decode()
    assert "auc=0.91" in content


def test_owner_can_add_a_member_who_then_sees_the_project(owner_client, project):
    UserFactory(username="colleague")
    response = owner_client.post(reverse("model_dashboard", args=[project.pk]), {"username": "colleague"})
    assert response.status_code == 302
    assert project.members.filter(username="colleague").exists()


def test_adding_an_unknown_member_shows_an_error(owner_client, project):
    response = owner_client.post(reverse("model_dashboard", args=[project.pk]), {"username": "nobody"})
    assert response.status_code == 200
    assert "No user with this name." in response.content.decode()


def test_project_name_with_script_tag_is_escaped(owner_client, owner):
    ProjectFactory(created_by=owner, name="<script>alert(1)</script>")
    content = owner_client.get(reverse("system_dashboard")).content.decode()
    assert "<script>alert(1)</script>" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content

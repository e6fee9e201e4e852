"""Writes on projects and their ML-stage configuration."""
from django.contrib.auth import get_user_model
from django.db import transaction

from ml_platform.models import ETLConfiguration, ModelEndpoint, PipelineConfiguration
from ml_platform.utils.errors import Invalid, PermissionDenied


@transaction.atomic
def project_create(*, user, name: str, description: str = "") -> ModelEndpoint:
    """Create a project with its ETL and pipeline configuration."""
    project = ModelEndpoint.objects.create(name=name.strip(), description=description.strip(), created_by=user)
    ETLConfiguration.objects.create(model_endpoint=project)
    PipelineConfiguration.objects.create(model_endpoint=project)
    return project


def project_etl_config(*, project: ModelEndpoint) -> ETLConfiguration:
    """The project's ETL configuration, created on first use (projects made elsewhere may lack it)."""
    config, _ = ETLConfiguration.objects.get_or_create(model_endpoint=project)
    return config


def project_pipeline_config(*, project: ModelEndpoint) -> PipelineConfiguration:
    """The project's pipeline configuration, created on first use."""
    config, _ = PipelineConfiguration.objects.get_or_create(model_endpoint=project)
    return config


def project_add_member(*, project: ModelEndpoint, actor, username: str) -> None:
    """Share a project with another user; only its creator may do so."""
    if project.created_by_id != actor.pk:
        raise PermissionDenied("Only the project's creator can add members.")
    member = get_user_model().objects.filter(username=username).first()
    if member is None:
        raise Invalid("No user with this name.", errors={"username": ["No user with this name."]})
    if member.pk != project.created_by_id:
        project.members.add(member)

"""Shared Django-side fixtures: an owner with a project, another user, and logged-in clients for both."""
import pytest
from django.test import Client

from ml_platform.tests.factories import DEFAULT_PASSWORD, ETLConfigurationFactory, ProjectFactory, UserFactory


@pytest.fixture
def owner(db):
    return UserFactory(username="owner")


@pytest.fixture
def other_user(db):
    return UserFactory(username="intruder")


@pytest.fixture
def project(owner):
    project = ProjectFactory(created_by=owner, name="Retail demand")
    ETLConfigurationFactory(model_endpoint=project)
    return project


def _logged_in_client(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=DEFAULT_PASSWORD)
    return client


@pytest.fixture
def owner_client(owner) -> Client:
    return _logged_in_client(owner)


@pytest.fixture
def other_client(other_user) -> Client:
    return _logged_in_client(other_user)


@pytest.fixture
def csrf_client(owner) -> Client:
    """A logged-in client that enforces CSRF like a real browser."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    return client

"""Health check, security headers, CSRF, login throttling."""
import pytest
from django.test import Client
from django.urls import reverse


@pytest.mark.django_db
def test_healthz_reports_database_reachable(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "success"}


@pytest.mark.django_db
def test_pages_send_csp_without_unsafe_inline_and_security_headers(client):
    response = client.get(reverse("login"))
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Request-ID"]


def test_browser_post_without_csrf_token_is_refused(csrf_client):
    response = csrf_client.post(reverse("create_model_endpoint"), {"name": "x"})
    assert response.status_code == 403


@pytest.mark.django_db
def test_login_page_logs_a_user_in(owner):
    client = Client()
    response = client.post(reverse("login"), {"username": "owner", "password": "testpass123"})
    assert response.status_code == 302
    assert client.get(reverse("system_dashboard")).status_code == 200


@pytest.mark.django_db
def test_repeated_failed_logins_lock_the_account_out(owner, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "owner", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "owner", "password": "testpass123"})
    assert response.status_code == 429
    assert "Too many failed log-in attempts" in response.content.decode()


def test_client_login_keeps_working_for_tests(owner):
    assert Client().login(username="owner", password="testpass123")


@pytest.mark.django_db
def test_logout_is_a_post_and_ends_the_session(owner_client):
    response = owner_client.post(reverse("logout"))
    assert response.status_code == 302
    assert owner_client.get(reverse("system_dashboard")).status_code == 302


@pytest.mark.django_db
def test_healthz_answers_probes_that_use_an_unlisted_host(client):
    response = client.get("/healthz", HTTP_HOST="10.0.0.7:8080")
    assert response.status_code == 200

"""
Baseline tests for ETL functionality.
Run BEFORE and AFTER migration to verify nothing broke.
"""
from django.test import TestCase, Client
from django.urls import reverse
from django.contrib.auth import get_user_model
from ml_platform.models import ModelEndpoint, ETLConfiguration, DataSource, Connection

class ETLBaselineTests(TestCase):
    """Tests that must pass before and after migration."""

    @classmethod
    def setUpTestData(cls):
        User = get_user_model()
        cls.user = User.objects.create_user(
            username='testuser',
            email='test@example.com',
            password='testpass123'
        )
        cls.model = ModelEndpoint.objects.create(
            name='Test Model',
            description='Test',
            created_by=cls.user,
            status='draft'
        )
        cls.etl_config = ETLConfiguration.objects.create(
            model_endpoint=cls.model,
            schedule_type='manual'
        )

    def setUp(self):
        self.client = Client()
        self.client.login(username='testuser', password='testpass123')

    # === PAGE VIEWS ===

    def test_etl_page_loads(self):
        """ETL page should return 200."""
        response = self.client.get(reverse('model_etl', args=[self.model.id]))
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, 'ETL')

    def test_etl_page_requires_login(self):
        """ETL page should redirect anonymous users."""
        self.client.logout()
        response = self.client.get(reverse('model_etl', args=[self.model.id]))
        self.assertEqual(response.status_code, 302)

    # === API ENDPOINTS ===

    def test_api_etl_check_job_name(self):
        """Job name check API should return JSON."""
        response = self.client.post(
            reverse('api_etl_check_job_name', args=[self.model.id]),
            data='{"name": "test_job"}',
            content_type='application/json'
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()['status'], 'success')

    def test_api_etl_toggle_enabled(self):
        """Toggle enabled API should work."""
        response = self.client.post(
            reverse('api_etl_toggle_enabled', args=[self.model.id]),
            data='{"enabled": true}',
            content_type='application/json'
        )
        self.assertEqual(response.status_code, 200)

    # === URL RESOLUTION ===

    def test_etl_urls_resolve(self):
        """All ETL URLs should resolve correctly."""
        urls_to_test = [
            ('model_etl', [self.model.id]),
            ('api_etl_add_source', [self.model.id]),
            ('api_etl_check_job_name', [self.model.id]),
            ('api_etl_toggle_enabled', [self.model.id]),
            ('api_etl_run_now', [self.model.id]),
        ]
        for url_name, args in urls_to_test:
            url = reverse(url_name, args=args)
            self.assertIsNotNone(url)


class ConnectionBaselineTests(TestCase):
    """Tests for connection management functionality."""

    @classmethod
    def setUpTestData(cls):
        User = get_user_model()
        cls.user = User.objects.create_user(
            username='testuser',
            email='test@example.com',
            password='testpass123'
        )
        cls.model = ModelEndpoint.objects.create(
            name='Test Model',
            description='Test',
            created_by=cls.user,
            status='draft'
        )

    def setUp(self):
        self.client = Client()
        self.client.login(username='testuser', password='testpass123')

    def test_api_connection_list(self):
        """Connection list API should return JSON."""
        response = self.client.get(
            reverse('api_connection_list', args=[self.model.id])
        )
        self.assertEqual(response.status_code, 200)
        self.assertIn('connections', response.json())

    def test_connection_urls_resolve(self):
        """All connection URLs should resolve correctly."""
        urls_to_test = [
            ('api_connection_list', [self.model.id]),
            ('api_connection_create', [self.model.id]),
            ('api_connection_test_wizard', [self.model.id]),
        ]
        for url_name, args in urls_to_test:
            url = reverse(url_name, args=args)
            self.assertIsNotNone(url)

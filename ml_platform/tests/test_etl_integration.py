"""
Integration tests for ETL sub-app.
Tests full workflows including database operations.
"""
import json

from django.test import TestCase, Client
from django.urls import reverse
from django.contrib.auth import get_user_model
from unittest.mock import patch, MagicMock

from ml_platform.models import (
    ModelEndpoint, ETLConfiguration, DataSource,
    DataSourceTable, Connection, ETLRun
)


class ETLJobCreationTests(TestCase):
    """Test ETL job creation workflow."""

    @classmethod
    def setUpTestData(cls):
        User = get_user_model()
        cls.user = User.objects.create_user(
            username='testuser',
            password='testpass123'
        )
        cls.model = ModelEndpoint.objects.create(
            name='Test Model',
            created_by=cls.user
        )
        cls.etl_config = ETLConfiguration.objects.create(
            model_endpoint=cls.model
        )
        cls.connection = Connection.objects.create(
            model_endpoint=cls.model,
            name='Test PostgreSQL',
            source_type='postgresql',
            source_host='localhost',
            source_port=5432,
            source_database='testdb'
        )

    def setUp(self):
        self.client = Client()
        self.client.login(username='testuser', password='testpass123')

    def test_create_etl_job_with_connection(self):
        """Create ETL job using existing connection."""
        response = self.client.post(
            reverse('api_etl_add_source', args=[self.model.id]),
            data=json.dumps({
                'name': 'Test ETL Job',
                'connection_id': self.connection.id,
                'tables': [{
                    'source_table_name': 'users',
                    'dest_table_name': 'raw_users',
                    'dest_dataset': 'raw_data',
                    'sync_mode': 'replace'
                }]
            }),
            content_type='application/json'
        )

        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()['status'], 'success')

        # Verify job was created
        source = DataSource.objects.get(name='Test ETL Job')
        self.assertEqual(source.connection, self.connection)
        self.assertEqual(source.tables.count(), 1)


class ETLRunTests(TestCase):
    """Test ETL run operations."""

    @classmethod
    def setUpTestData(cls):
        User = get_user_model()
        cls.user = User.objects.create_user(
            username='testuser',
            password='testpass123'
        )
        cls.model = ModelEndpoint.objects.create(
            name='Test Model',
            created_by=cls.user
        )
        cls.etl_config = ETLConfiguration.objects.create(
            model_endpoint=cls.model
        )
        cls.data_source = DataSource.objects.create(
            etl_config=cls.etl_config,
            name='Test Source',
            source_type='postgresql'
        )

    def setUp(self):
        self.client = Client()
        self.client.login(username='testuser', password='testpass123')

    @patch('ml_platform.etl.api.trigger_cloud_run_job')
    def test_trigger_etl_run(self, mock_trigger):
        """Trigger ETL run for a source."""
        mock_trigger.return_value = {'success': True, 'execution_id': 'test-123'}

        response = self.client.post(
            reverse('api_etl_run_source', args=[self.data_source.id])
        )

        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()['status'], 'success')

        # Verify run record was created
        run = ETLRun.objects.filter(data_source=self.data_source).first()
        self.assertIsNotNone(run)
        self.assertEqual(run.status, 'running')

    def test_get_run_status(self):
        """Get status of an ETL run."""
        run = ETLRun.objects.create(
            etl_config=self.etl_config,
            model_endpoint=self.model,
            data_source=self.data_source,
            status='completed',
            total_rows_extracted=1000
        )

        response = self.client.get(
            reverse('api_etl_run_status', args=[run.id])
        )

        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()['status'], 'completed')
        self.assertEqual(response.json()['total_rows_extracted'], 1000)

"""Connection routes: names and paths are the seed's contract (views-refactoring-plan.md)."""
from django.urls import path

from . import api

urlpatterns = [
    # Connection Management
    path('api/models/<int:model_id>/connections/test-wizard/', api.test_wizard, name='api_connection_test_wizard'),
    path('api/models/<int:model_id>/connections/create/', api.create, name='api_connection_create'),
    path('api/models/<int:model_id>/connections/create-standalone/', api.create,
         name='api_connection_create_standalone'),
    path('api/models/<int:model_id>/connections/', api.list_connections, name='api_connection_list'),

    path('api/connections/<int:connection_id>/', api.get, name='api_connection_get'),
    path('api/connections/<int:connection_id>/credentials/', api.get_credentials,
         name='api_connection_get_credentials'),
    path('api/connections/<int:connection_id>/test/', api.test, name='api_connection_test'),
    path('api/connections/<int:connection_id>/test-and-fetch-tables/', api.test_and_fetch_tables,
         name='api_connection_test_and_fetch_tables'),
    path('api/connections/<int:connection_id>/update/', api.update, name='api_connection_update'),
    path('api/connections/<int:connection_id>/usage/', api.get_usage, name='api_connection_get_usage'),
    path('api/connections/<int:connection_id>/delete/', api.delete, name='api_connection_delete'),

    # Schema/Table Fetching
    path('api/connections/<int:connection_id>/fetch-schemas/', api.fetch_schemas,
         name='api_connection_fetch_schemas'),
    path('api/connections/<int:connection_id>/fetch-tables-for-schema/', api.fetch_tables_for_schema,
         name='api_connection_fetch_tables_for_schema'),
    path('api/connections/<int:connection_id>/fetch-table-preview/', api.fetch_table_preview,
         name='api_connection_fetch_table_preview'),

    # File Operations (Cloud Storage)
    path('api/connections/<int:connection_id>/list-files/', api.list_files, name='api_connection_list_files'),
    path('api/connections/<int:connection_id>/detect-file-schema/', api.detect_file_schema,
         name='api_connection_detect_file_schema'),

    # ETL Wizard Connection Testing
    path('api/connections/<int:connection_id>/test-wizard/', api.test_in_wizard,
         name='api_etl_test_connection_in_wizard'),
]

"""Django admin for every model; secrets are never shown (connections show only which secrets are set)."""
from django.contrib import admin

from ml_platform import models


@admin.register(models.ModelEndpoint)
class ModelEndpointAdmin(admin.ModelAdmin):
    list_display = ("name", "created_by", "status", "created_at")
    list_filter = ("status",)
    search_fields = ("name",)
    filter_horizontal = ("members",)


@admin.register(models.ETLConfiguration)
class ETLConfigurationAdmin(admin.ModelAdmin):
    list_display = ("model_endpoint", "is_enabled", "schedule_type")


@admin.register(models.Connection)
class ConnectionAdmin(admin.ModelAdmin):
    list_display = ("name", "source_type", "model_endpoint", "last_test_status", "last_test_at")
    list_filter = ("source_type", "last_test_status")
    search_fields = ("name",)
    readonly_fields = ("secret_ref", "secret_fields")


class DataSourceTableInline(admin.TabularInline):
    model = models.DataSourceTable
    extra = 0
    fields = ("source_table_name", "dest_dataset", "dest_table_name", "sync_mode", "incremental_column",
              "cursor_value", "is_enabled")


@admin.register(models.DataSource)
class DataSourceAdmin(admin.ModelAdmin):
    list_display = ("name", "source_type", "etl_config", "schedule_type", "is_paused", "next_run_at")
    list_filter = ("source_type", "schedule_type", "is_paused")
    search_fields = ("name",)
    inlines = [DataSourceTableInline]


@admin.register(models.DataSourceTable)
class DataSourceTableAdmin(admin.ModelAdmin):
    list_display = ("__str__", "data_source", "sync_mode", "last_synced_at")


@admin.register(models.ETLRun)
class ETLRunAdmin(admin.ModelAdmin):
    list_display = ("id", "job_name", "status", "phase", "trigger", "created_at", "total_rows_loaded")
    list_filter = ("status", "trigger")
    search_fields = ("job_name", "execution_id")
    date_hierarchy = "created_at"


@admin.register(models.ProcessedFile)
class ProcessedFileAdmin(admin.ModelAdmin):
    list_display = ("file_path", "data_source_table", "file_size", "rows_loaded", "processed_at")
    search_fields = ("file_path",)


@admin.register(models.PipelineConfiguration)
class PipelineConfigurationAdmin(admin.ModelAdmin):
    list_display = ("model_endpoint", "model_type", "training_table", "updated_at")


@admin.register(models.PipelineRun)
class PipelineRunAdmin(admin.ModelAdmin):
    list_display = ("id", "model_endpoint", "kind", "status", "created_at")
    list_filter = ("kind", "status")

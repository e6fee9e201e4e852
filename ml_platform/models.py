"""Shared models of the platform: projects, connections, ETL jobs and runs, and the ML-stage records.

Secrets never live in these fields: a connection only names its entry in the secret store.
"""
from django.conf import settings
from django.db import models
from django.db.models import Q


class ModelEndpoint(models.Model):
    """A project: one model being built, owned by its creator and shared with members."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        ARCHIVED = "archived", "Archived"

    name = models.CharField(max_length=120)
    description = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_projects"
    )
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="member_projects")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class ScheduleType(models.TextChoices):
    MANUAL = "manual", "Manual"
    HOURLY = "hourly", "Hourly"
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"
    CRON = "cron", "Cron expression"


class ETLConfiguration(models.Model):
    """A project's ETL settings: the switch that enables or disables all of its scheduled jobs."""

    model_endpoint = models.OneToOneField(ModelEndpoint, on_delete=models.CASCADE, related_name="etl_config")
    schedule_type = models.CharField(max_length=16, choices=ScheduleType.choices, default=ScheduleType.MANUAL)
    is_enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"ETL of {self.model_endpoint}"


class SourceType(models.TextChoices):
    POSTGRESQL = "postgresql", "PostgreSQL"
    MYSQL = "mysql", "MySQL / MariaDB"
    SQLITE = "sqlite", "SQLite"
    LOCAL_FILES = "local_files", "Local folder"
    GCS = "gcs", "Google Cloud Storage"
    S3 = "s3", "Amazon S3"
    AZURE_BLOB = "azure_blob", "Azure Blob Storage"
    BIGQUERY = "bigquery", "BigQuery"
    FIRESTORE = "firestore", "Firestore"


FILE_SOURCE_TYPES = {SourceType.LOCAL_FILES, SourceType.GCS, SourceType.S3, SourceType.AZURE_BLOB}


class TestStatus(models.TextChoices):
    UNTESTED = "untested", "Not tested"
    SUCCESS = "success", "Succeeded"
    FAILED = "failed", "Failed"


class Connection(models.Model):
    """Where data comes from. Secret fields are kept in the secret store under `secret_ref`."""

    model_endpoint = models.ForeignKey(ModelEndpoint, on_delete=models.CASCADE, related_name="connections")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True, default="")
    source_type = models.CharField(max_length=20, choices=SourceType.choices)
    source_host = models.CharField(max_length=255, blank=True, default="")
    source_port = models.PositiveIntegerField(null=True, blank=True)
    source_database = models.CharField(max_length=255, blank=True, default="")
    source_schema = models.CharField(max_length=255, blank=True, default="")
    source_username = models.CharField(max_length=255, blank=True, default="")
    ssl_mode = models.CharField(max_length=32, blank=True, default="")
    file_path = models.CharField(max_length=1024, blank=True, default="")
    bucket_path = models.CharField(max_length=1024, blank=True, default="")
    aws_region = models.CharField(max_length=64, blank=True, default="")
    endpoint_url = models.CharField(max_length=512, blank=True, default="")
    azure_storage_account = models.CharField(max_length=255, blank=True, default="")
    gcp_project_id = models.CharField(max_length=255, blank=True, default="")
    bigquery_dataset = models.CharField(max_length=1024, blank=True, default="")
    secret_ref = models.CharField(max_length=255, blank=True, default="")
    secret_fields = models.JSONField(default=list, blank=True)
    last_test_at = models.DateTimeField(null=True, blank=True)
    last_test_status = models.CharField(max_length=16, choices=TestStatus.choices, default=TestStatus.UNTESTED)
    last_test_message = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["model_endpoint", "name"], name="unique_connection_name_per_project"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.source_type})"

    @property
    def is_file_based(self) -> bool:
        return self.source_type in FILE_SOURCE_TYPES


class SyncMode(models.TextChoices):
    REPLACE = "replace", "Replace (full snapshot)"
    APPEND = "append", "Append everything"
    INCREMENTAL = "incremental", "Incremental append (cursor)"
    MERGE = "merge", "Merge / upsert (cursor + primary key)"


class DataSource(models.Model):
    """An ETL job: a connection, one or more tables, a schedule. The schedule is stored once, here."""

    class SchemaDrift(models.TextChoices):
        ADD = "add", "Add new columns"
        FAIL = "fail", "Fail the run"

    etl_config = models.ForeignKey(ETLConfiguration, on_delete=models.CASCADE, related_name="data_sources")
    name = models.CharField(max_length=120)
    source_type = models.CharField(max_length=20, choices=SourceType.choices)
    connection = models.ForeignKey(
        Connection, null=True, blank=True, on_delete=models.PROTECT, related_name="data_sources"
    )
    is_paused = models.BooleanField(default=False)
    schema_drift = models.CharField(max_length=8, choices=SchemaDrift.choices, default=SchemaDrift.ADD)
    schedule_type = models.CharField(max_length=16, choices=ScheduleType.choices, default=ScheduleType.MANUAL)
    schedule_cron = models.CharField(max_length=120, blank=True, default="")
    schedule_timezone = models.CharField(max_length=64, default="UTC")
    schedule_time = models.TimeField(null=True, blank=True)
    schedule_minute = models.PositiveSmallIntegerField(null=True, blank=True)
    schedule_day_of_week = models.PositiveSmallIntegerField(null=True, blank=True)
    schedule_day_of_month = models.PositiveSmallIntegerField(null=True, blank=True)
    next_run_at = models.DateTimeField(null=True, blank=True, db_index=True)
    cloud_scheduler_job_name = models.CharField(max_length=255, blank=True, default="")
    schedule_sync_error = models.TextField(blank=True, default="")  # last failure mirroring to Cloud Scheduler
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["etl_config", "name"], name="unique_job_name_per_project"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def model_endpoint(self) -> ModelEndpoint:
        return self.etl_config.model_endpoint


class DataSourceTable(models.Model):
    """One table (or one set of files) of a job, with its own load mode, destination and committed state."""

    class ChangedFileRule(models.TextChoices):
        RELOAD = "reload", "Load the new version"
        SKIP = "skip", "Ignore changes"
        FAIL = "fail", "Fail the run"

    data_source = models.ForeignKey(DataSource, on_delete=models.CASCADE, related_name="tables")
    schema_name = models.CharField(max_length=255, blank=True, default="")
    source_table_name = models.CharField(max_length=255, blank=True, default="")
    dest_dataset = models.CharField(max_length=128, default="raw_data")
    dest_table_name = models.CharField(max_length=128)
    sync_mode = models.CharField(max_length=16, choices=SyncMode.choices, default=SyncMode.REPLACE)
    incremental_column = models.CharField(max_length=255, blank=True, default="")
    primary_key = models.JSONField(default=list, blank=True)
    selected_columns = models.JSONField(default=list, blank=True)
    historical_start_date = models.DateField(null=True, blank=True)
    lookback_seconds = models.PositiveIntegerField(default=0)
    dest_schema = models.JSONField(default=list, blank=True)
    partition_column = models.CharField(max_length=255, blank=True, default="")
    partition_granularity = models.CharField(max_length=8, blank=True, default="")
    cluster_columns = models.JSONField(default=list, blank=True)
    is_file_based = models.BooleanField(default=False)
    file_path_prefix = models.CharField(max_length=1024, blank=True, default="")
    file_pattern = models.CharField(max_length=255, blank=True, default="")
    file_format = models.CharField(max_length=16, blank=True, default="")
    file_format_options = models.JSONField(default=dict, blank=True)
    load_latest_only = models.BooleanField(default=False)
    on_changed_file = models.CharField(
        max_length=8, choices=ChangedFileRule.choices, default=ChangedFileRule.RELOAD
    )
    is_enabled = models.BooleanField(default=True)
    cursor_value = models.TextField(blank=True, default="")
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_row_count = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["data_source", "dest_dataset", "dest_table_name"], name="unique_destination_per_job"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source_table_name or self.file_path_prefix} -> {self.dest_dataset}.{self.dest_table_name}"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    PARTIAL = "partial", "Partially completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    SKIPPED = "skipped", "Skipped"


ACTIVE_RUN_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)
FINISHED_RUN_STATUSES = (
    RunStatus.COMPLETED,
    RunStatus.PARTIAL,
    RunStatus.FAILED,
    RunStatus.CANCELLED,
    RunStatus.SKIPPED,
)


class RunTrigger(models.TextChoices):
    MANUAL = "manual", "Run now"
    SCHEDULED = "scheduled", "Schedule"
    AFTER_CREATE = "after_create", "Run after create"
    API = "api", "API"


class ETLRun(models.Model):
    """One execution of a job. At most one active run per job, enforced by the database."""

    etl_config = models.ForeignKey(ETLConfiguration, on_delete=models.CASCADE, related_name="runs")
    model_endpoint = models.ForeignKey(ModelEndpoint, on_delete=models.CASCADE, related_name="etl_runs")
    data_source = models.ForeignKey(
        DataSource, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    job_name = models.CharField(max_length=120, blank=True, default="")
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    phase = models.CharField(max_length=32, blank=True, default="")
    trigger = models.CharField(max_length=16, choices=RunTrigger.choices, default=RunTrigger.MANUAL)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    scheduled_for = models.DateTimeField(null=True, blank=True)
    options = models.JSONField(default=dict, blank=True)
    launcher = models.CharField(max_length=16, blank=True, default="")
    execution_id = models.CharField(max_length=512, blank=True, default="")
    log_location = models.CharField(max_length=1024, blank=True, default="")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_heartbeat_at = models.DateTimeField(null=True, blank=True)
    phase_timings = models.JSONField(default=dict, blank=True)
    table_results = models.JSONField(default=list, blank=True)
    total_rows_extracted = models.BigIntegerField(default=0)
    total_rows_loaded = models.BigIntegerField(default=0)
    total_bytes = models.BigIntegerField(default=0)
    rows_total_estimate = models.BigIntegerField(null=True, blank=True)
    error_type = models.CharField(max_length=120, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["data_source"],
                condition=Q(status__in=["queued", "running"]),
                name="one_active_run_per_job",
            ),
            models.UniqueConstraint(
                fields=["data_source", "scheduled_for"],
                condition=Q(scheduled_for__isnull=False),
                name="one_run_per_scheduled_slot",
            ),
        ]
        indexes = [
            models.Index(fields=["model_endpoint", "-created_at"], name="run_project_recent"),
            models.Index(fields=["data_source", "-created_at"], name="run_job_recent"),
            models.Index(fields=["status", "last_heartbeat_at"], name="run_status_heartbeat"),
        ]

    def __str__(self) -> str:
        return f"Run {self.pk} of {self.job_name or self.data_source_id} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_RUN_STATUSES

    @property
    def duration_seconds(self) -> float | None:
        if not self.started_at or not self.finished_at:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class ProcessedFile(models.Model):
    """The file ledger of a file-based table: each file version loaded once."""

    data_source_table = models.ForeignKey(
        DataSourceTable, on_delete=models.CASCADE, related_name="processed_files"
    )
    file_path = models.CharField(max_length=1024)
    file_size = models.BigIntegerField(default=0)
    generation = models.CharField(max_length=128, blank=True, default="")
    etag = models.CharField(max_length=255, blank=True, default="")
    file_modified_at = models.DateTimeField(null=True, blank=True)
    rows_loaded = models.BigIntegerField(default=0)
    run = models.ForeignKey(ETLRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="files")
    processed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-processed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["data_source_table", "file_path", "generation"], name="unique_file_version_per_table"
            ),
        ]

    def __str__(self) -> str:
        return self.file_path


class EncryptedSecret(models.Model):
    """The local secret store's rows: Fernet ciphertext only, never plain text."""

    name = models.CharField(max_length=255, unique=True)
    ciphertext = models.TextField()
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name


class PipelineConfiguration(models.Model):
    """How a project's model is trained: dataset, target, features, split and model family."""

    class ModelType(models.TextChoices):
        RETRIEVAL = "retrieval", "Two-tower retrieval"
        RANKING = "ranking", "Ranking"
        CLASSIFICATION = "classification", "Classification"
        REGRESSION = "regression", "Regression"

    model_endpoint = models.OneToOneField(
        ModelEndpoint, on_delete=models.CASCADE, related_name="pipeline_config"
    )
    model_type = models.CharField(max_length=20, choices=ModelType.choices, default=ModelType.CLASSIFICATION)
    training_table = models.CharField(max_length=255, blank=True, default="")
    target_column = models.CharField(max_length=255, blank=True, default="")
    feature_columns = models.JSONField(default=list, blank=True)
    train_fraction = models.FloatField(default=0.8)
    validation_fraction = models.FloatField(default=0.1)
    epochs = models.PositiveIntegerField(default=10)
    learning_rate = models.FloatField(default=0.001)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(train_fraction__gt=0) & Q(validation_fraction__gte=0)
                & Q(train_fraction__lt=1),
                name="pipeline_fractions_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"Pipeline of {self.model_endpoint}"


class PipelineRun(models.Model):
    """A training or deployment run of a project's pipeline."""

    class Kind(models.TextChoices):
        TRAINING = "training", "Training"
        DEPLOYMENT = "deployment", "Deployment"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"

    model_endpoint = models.ForeignKey(ModelEndpoint, on_delete=models.CASCADE, related_name="pipeline_runs")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.TRAINING)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    metrics = models.JSONField(default=dict, blank=True)
    error_message = models.TextField(blank=True, default="")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} run {self.pk} ({self.status})"

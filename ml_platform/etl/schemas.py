"""Request bodies of the ETL APIs (browser and runner), validated with pydantic, unknown keys refused."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ml_platform.utils.warehouse import IDENTIFIER_RE, WAREHOUSE_TYPES

SyncModeName = Literal["replace", "append", "incremental", "merge"]
Name = Field(min_length=1, max_length=120)
SourceName = Field(default="", max_length=255)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _identifier(value: str) -> str:
    if not IDENTIFIER_RE.match(value):
        raise ValueError("Use letters, digits and underscores, starting with a letter or underscore (max 128).")
    return value


def _column_list(values: list[str]) -> list[str]:
    for value in values:
        if not value or len(value) > 255 or "\x00" in value:
            raise ValueError("Column names must be 1-255 characters.")
    if len(set(values)) != len(values):
        raise ValueError("Column names must be unique.")
    return values


class FileFormatOptions(_In):
    delimiter: str = Field(default=",", min_length=1, max_length=4)
    encoding: str = Field(default="utf-8", min_length=1, max_length=32)
    has_header: bool = True
    compression: Literal["infer", "none", "gzip", "bz2", "zstd", "snappy"] = "infer"


class DestColumn(_In):
    name: str = Field(min_length=1, max_length=128)
    type: str
    mode: Literal["NULLABLE", "REQUIRED"] = "NULLABLE"

    _name = field_validator("name")(_identifier)

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value.upper() not in WAREHOUSE_TYPES:
            raise ValueError(f"Unknown type; use one of {', '.join(sorted(WAREHOUSE_TYPES))}.")
        return value.upper()


class DestinationIn(_In):
    mode: Literal["new", "existing"] = "new"
    columns: list[DestColumn] = Field(default_factory=list, max_length=2000)
    partition_column: str = ""
    partition_granularity: Literal["", "HOUR", "DAY", "MONTH", "YEAR"] = ""
    cluster_columns: list[str] = Field(default_factory=list, max_length=4)

    _clusters = field_validator("cluster_columns")(_column_list)


class TableIn(_In):
    schema_name: str = SourceName
    source_table_name: str = SourceName
    dest_dataset: str = "raw_data"
    dest_table_name: str = Field(min_length=1, max_length=128)
    sync_mode: SyncModeName = "replace"
    incremental_column: str = SourceName
    primary_key: list[str] = Field(default_factory=list, max_length=32)
    selected_columns: list[str] = Field(default_factory=list, max_length=2000)
    historical_start_date: date | None = None
    lookback_seconds: int = Field(default=0, ge=0, le=30 * 86400)
    is_file_based: bool = False
    file_path_prefix: str = Field(default="", max_length=1024)
    file_pattern: str = Field(default="", max_length=255)
    file_format: Literal["", "csv", "parquet", "json"] = ""
    file_format_options: FileFormatOptions = Field(default_factory=FileFormatOptions)
    load_latest_only: bool = False
    on_changed_file: Literal["reload", "skip", "fail"] = "reload"
    destination: DestinationIn | None = None

    _names = field_validator("dest_dataset", "dest_table_name")(_identifier)
    _columns = field_validator("primary_key", "selected_columns")(_column_list)

    @model_validator(mode="after")
    def _mode_requirements(self) -> TableIn:
        if self.is_file_based:
            if not self.file_format:
                raise ValueError("file_format is required for file tables.")
            return self
        if not self.source_table_name:
            raise ValueError("source_table_name is required.")
        if self.sync_mode in ("incremental", "merge") and not self.incremental_column:
            raise ValueError(f"sync_mode '{self.sync_mode}' needs an incremental_column.")
        if self.sync_mode == "merge" and not self.primary_key:
            raise ValueError("sync_mode 'merge' needs a primary_key.")
        if self.sync_mode == "incremental" and self.lookback_seconds and not self.primary_key:
            # Re-reading a lookback window appends the same rows again unless they can be told apart.
            raise ValueError("An incremental load with a lookback window needs a primary_key to skip rows "
                             "it already loaded.")
        return self


_FILE_KEYS = ("file_path_prefix", "file_pattern", "file_format", "file_format_options", "load_latest_only")


class JobIn(_In):
    """The wizard's job document (`create_job`); `add_source` and `save_draft` send a subset of it."""

    name: str = Name
    connection_id: int
    tables: list[TableIn] = Field(default_factory=list, max_length=200)
    is_file_based: bool = False
    file_path_prefix: str = Field(default="", max_length=1024)
    file_pattern: str = Field(default="", max_length=255)
    file_format: Literal["", "csv", "parquet", "json"] = ""
    file_format_options: FileFormatOptions = Field(default_factory=FileFormatOptions)
    load_latest_only: bool = False
    dest_dataset: str = "raw_data"
    dest_table_name: str = ""
    sync_mode: SyncModeName = "append"
    destination: DestinationIn | None = None
    schedule_config: dict[str, Any] | None = None
    schema_drift: Literal["add", "fail"] = "add"
    run_now: bool = False

    @model_validator(mode="after")
    def _file_job_as_table(self) -> JobIn:
        """A file job sent with top-level file fields becomes one file table."""
        if self.is_file_based and not self.tables:
            self.tables = [TableIn(
                is_file_based=True, dest_dataset=self.dest_dataset, dest_table_name=self.dest_table_name or "files",
                sync_mode=self.sync_mode, **{key: getattr(self, key) for key in _FILE_KEYS})]
        if not self.tables:
            raise ValueError("Add at least one table.")
        return self


class TableEditIn(TableIn):
    id: int | None = None
    is_enabled: bool = True


class JobEditIn(_In):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    schedule_config: dict[str, Any] | None = None
    schema_drift: Literal["add", "fail"] | None = None
    tables: list[TableEditIn] | None = Field(default=None, max_length=200)
    remove_table_ids: list[int] = Field(default_factory=list)


class RunStartIn(_In):
    tables: list[int] | None = None
    full_refresh: bool = False


class TogglePauseIn(_In):
    paused: bool | None = None


class ToggleEnabledIn(_In):
    enabled: bool


class CheckNameIn(_In):
    name: str = Field(min_length=0, max_length=200)
    exclude_id: int | None = None


class DeleteIn(_In):
    delete_runs: bool = False


class SchemaColumn(_In):
    name: str = Field(min_length=1, max_length=255)
    type: str = Field(min_length=1, max_length=64)


class SchemaCompatibilityIn(_In):
    model_id: int
    dest_dataset: str = "raw_data"
    dest_table_name: str
    columns: list[SchemaColumn] = Field(max_length=2000)

    _names = field_validator("dest_dataset", "dest_table_name")(_identifier)


class ProgressIn(_In):
    rows: int = Field(default=0, ge=0)
    bytes: int = Field(default=0, ge=0)
    rows_total: int | None = Field(default=None, ge=0)


class TableResultIn(_In):
    table_id: int
    status: Literal["running", "completed", "failed", "skipped"] = "completed"
    rows_read: int = Field(default=0, ge=0)
    rows_loaded: int = Field(default=0, ge=0)
    bytes: int = Field(default=0, ge=0)
    duration_seconds: float = Field(default=0, ge=0)
    cursor_before: str | None = None
    cursor_after: str | None = None
    files: int = Field(default=0, ge=0)
    error: str | None = Field(default=None, max_length=10000)
    phases: dict[str, float] = Field(default_factory=dict)


class RunErrorIn(_In):
    type: str = Field(default="Error", max_length=120)
    message: str = Field(default="", max_length=10000)
    problems: list[str] = Field(default_factory=list, max_length=200)


class RunUpdateIn(_In):
    status: Literal["running", "completed", "partial", "failed"] | None = None
    phase: Literal["starting", "waiting_for_warehouse", "extract", "stage", "load", "finalize"] | None = None
    heartbeat: bool = False
    progress: ProgressIn | None = None
    tables: list[TableResultIn] = Field(default_factory=list, max_length=200)
    error: RunErrorIn | None = None


class ProcessedFileIn(_In):
    table_id: int
    path: str = Field(min_length=1, max_length=1024)
    size: int = Field(default=0, ge=0)
    generation: str | None = Field(default=None, max_length=128)  # file sources without versions send null
    etag: str | None = Field(default=None, max_length=255)
    modified_at: datetime | None = None
    rows: int = Field(default=0, ge=0)


class ProcessedFilesQuery(_In):
    table_id: int | None = None

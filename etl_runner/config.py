"""Job config v1: the one definition of what Django hands the runner (see docs/runner-contract.md)."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

CONFIG_VERSION = 1
SourceKind = Literal[
    "postgresql", "mysql", "sqlite", "local_files", "gcs", "s3", "azure_blob", "bigquery", "firestore"
]
FILE_KINDS = frozenset({"local_files", "gcs", "s3", "azure_blob"})
_DATASET_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,1023}$")


class ConfigError(Exception):
    """The job config is invalid; `problems` lists every one as 'location: message'."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid job config:\n" + "\n".join(f"  - {p}" for p in problems))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _check_name(value: str, what: str) -> str:
    """Reject names that no warehouse or driver should ever see (empty, NUL, over-long)."""
    if not value or "\x00" in value or len(value) > 255:
        raise ValueError(f"{what} must be 1-255 characters without NUL")
    return value


class JobInfo(_Model):
    id: int
    name: str
    project_id: int


class SourceConfig(_Model):
    kind: SourceKind
    params: dict[str, Any] = Field(default_factory=dict)
    secrets: dict[str, str] = Field(default_factory=dict, repr=False)

    @property
    def is_file_source(self) -> bool:
        return self.kind in FILE_KINDS


class DestinationConfig(_Model):
    backend: Literal["duckdb", "bigquery"]
    dataset: str
    duckdb_path: str | None = None
    bigquery_project: str | None = None
    bigquery_location: str | None = "US"
    bigquery_endpoint: str | None = None
    staging_url: str | None = None

    @field_validator("dataset")
    @classmethod
    def _dataset_name(cls, v: str) -> str:
        if not _DATASET_RE.match(v):
            raise ValueError("dataset must match [A-Za-z_][A-Za-z0-9_]*")
        return v

    @model_validator(mode="after")
    def _backend_settings(self) -> DestinationConfig:
        if self.backend == "duckdb" and not self.duckdb_path:
            raise ValueError("duckdb_path is required for the duckdb backend")
        if self.backend == "bigquery" and not self.bigquery_project:
            raise ValueError("bigquery_project is required for the bigquery backend")
        return self


class PartitionConfig(_Model):
    column: str
    granularity: Literal["HOUR", "DAY", "MONTH", "YEAR"] = "DAY"


class FileOptions(_Model):
    delimiter: str = ","
    encoding: str = "utf-8"
    has_header: bool = True
    compression: str = "infer"


class FileTableConfig(_Model):
    prefix: str = ""
    pattern: str = "*"
    format: Literal["csv", "parquet", "json"]
    options: FileOptions = Field(default_factory=FileOptions)
    load_latest_only: bool = False
    on_changed_file: Literal["reload", "skip", "fail"] = "reload"


class TableConfig(_Model):
    table_id: int
    source_schema: str | None = None
    source_table: str = ""
    dest_dataset: str
    dest_table: str
    load_mode: Literal["replace", "append", "incremental", "merge"] = "replace"
    columns: list[str] = Field(default_factory=list)
    cursor_column: str | None = None
    primary_key: list[str] = Field(default_factory=list)
    cursor_value: str | None = None
    lookback_seconds: int = Field(default=0, ge=0)
    historical_start: date | None = None
    full_refresh: bool = False
    schema_drift: Literal["add", "fail"] = "add"
    partition: PartitionConfig | None = None
    cluster_by: list[str] = Field(default_factory=list)
    file: FileTableConfig | None = None

    @field_validator("dest_table", "dest_dataset")
    @classmethod
    def _dest_names(cls, v: str) -> str:
        return _check_name(v, "destination name")

    @field_validator("columns", "primary_key", "cluster_by")
    @classmethod
    def _column_names(cls, v: list[str]) -> list[str]:
        for name in v:
            _check_name(name, "column name")
        if len(set(v)) != len(v):
            raise ValueError("column names must be unique")
        return v

    @model_validator(mode="after")
    def _mode_requirements(self) -> TableConfig:
        problems = []
        if self.load_mode in ("incremental", "merge") and not self.cursor_column and not self.file:
            problems.append(f"cursor_column is required for load_mode={self.load_mode}")
        if self.load_mode == "merge" and not self.primary_key:
            problems.append("primary_key is required for load_mode=merge")
        if self.columns:
            missing = [c for c in [self.cursor_column, *self.primary_key] if c and c not in self.columns]
            if missing:
                problems.append(f"columns must include cursor/primary key columns {missing}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def label(self) -> str:
        return f"{self.source_schema}.{self.source_table}" if self.source_schema else self.source_table


class RunOptions(_Model):
    batch_size: int = Field(default=100_000, ge=1, le=10_000_000)
    heartbeat_seconds: float = Field(default=15, gt=0)


class JobConfig(_Model):
    version: Literal[1]
    run_id: int | None = None
    job: JobInfo
    source: SourceConfig
    destination: DestinationConfig
    tables: list[TableConfig] = Field(min_length=1)
    options: RunOptions = Field(default_factory=RunOptions)

    @model_validator(mode="after")
    def _tables_fit_source(self) -> JobConfig:
        problems = []
        seen = set()
        for i, t in enumerate(self.tables):
            if self.source.is_file_source and t.file is None:
                problems.append(f"tables.{i}.file is required for source kind {self.source.kind}")
            if not self.source.is_file_source and not t.source_table:
                problems.append(f"tables.{i}.source_table is required")
            key = (t.dest_dataset, t.dest_table)
            if key in seen:
                problems.append(f"tables.{i}: destination {key[0]}.{key[1]} appears twice")
            seen.add(key)
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _format_errors(exc: ValidationError) -> list[str]:
    """Turn pydantic errors into 'loc: message' lines, one per problem."""
    out = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = ".".join(str(p) for p in err["loc"]) or "(config)"
        msg = err["msg"].removeprefix("Value error, ")
        for part in msg.split("; "):
            out.append(f"{loc}: {part}")
    return out


def parse_config(data: Any) -> JobConfig:
    """Validate a config dict (or JSON text); raise ConfigError listing every problem."""
    if isinstance(data, (str, bytes)):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as exc:
            raise ConfigError([f"(config): not valid JSON: {exc}"]) from None
    if isinstance(data, dict) and data.get("version") not in (None, CONFIG_VERSION):
        raise ConfigError([f"version: unsupported config version {data.get('version')!r}, expected 1"])
    try:
        return JobConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc)) from None


def json_schema() -> dict[str, Any]:
    """The JSON Schema of job config v1 (published in docs/runner-contract.md)."""
    return JobConfig.model_json_schema()

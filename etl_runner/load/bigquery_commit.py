"""The commit step of the BigQuery warehouse: stage table -> destination table, with the state.

See etl_runner/load/bigquery.py for the guarantees. Everything here is SQL over tables the
warehouse already loaded; identifiers are quoted, values are query parameters.
"""
# ruff: noqa: S608 - identifiers go through quote(), values are query parameters

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from etl_runner.load import bigquery_schema as bs
from etl_runner.load.base import LoadPlan, LoadResult, WarehouseError
from etl_runner.load.bigquery_schema import quote

if TYPE_CHECKING:
    from etl_runner.config import TableConfig
    from etl_runner.load.bigquery import BigQueryWarehouse

_FILE_COLUMNS = ["dest_table", "path", "size", "generation", "etag", "modified_at", "rows", "run_id", "loaded_at"]


def commit_load(wh: BigQueryWarehouse, plan: LoadPlan, fields: list, token: str) -> LoadResult:
    """Apply the stage table to the destination per load mode and commit the staged state with it."""
    t = plan.table
    stage = f"_etl_stage_{token}"
    mapping = plan.mapping or {}
    types = {f.name: bs.canonical(f.field_type) for f in fields}
    if t.load_mode == "replace":
        rows = _count(wh, f"SELECT * FROM {wh._ref(t.dest_dataset, stage)}")
        wh.query(_ctas(wh, t, stage, mapping, types))
        wh.query(_script([], wh, t, token))
        return LoadResult(rows)
    added, widened = _prepare_target(wh, t, fields, mapping)
    names = [f.name for f in fields]
    if t.load_mode == "merge":
        source = _dedup(wh, t, stage, mapping)
        statement = _merge(wh, t, source, names, mapping)
    else:
        source = _append_source(wh, t, stage, names, mapping)
        cols = ", ".join(quote(n) for n in names)
        statement = f"INSERT INTO {wh._ref(t.dest_dataset, t.dest_table)} ({cols}) SELECT {cols} FROM {source}"
    rows = _count(wh, f"SELECT * FROM {source}")
    wh.query(_script([statement], wh, t, token))
    return LoadResult(rows, [f.name for f in added], [c for c, _ in widened])


def _count(wh: BigQueryWarehouse, select: str) -> int:
    return int(next(iter(wh.query(f"SELECT COUNT(*) FROM ({select})")))[0])


def _script(data_statements: list[str], wh: BigQueryWarehouse, t: TableConfig, token: str) -> str:
    """One multi-statement transaction: the data statements, then `_etl_state` and `_etl_files`."""
    state_stage, files_stage = f"_etl_stage_state_{token}", f"_etl_stage_files_{token}"
    state_ref, files_ref = wh._ref(t.dest_dataset, "_etl_state"), wh._ref(t.dest_dataset, "_etl_files")
    file_cols = [quote(c) for c in _FILE_COLUMNS]
    updates = ", ".join(f"{c} = N.{c}" for c in file_cols[2:])
    statements = [
        *data_statements,
        f"MERGE {state_ref} S USING (SELECT * FROM {wh._ref(t.dest_dataset, state_stage)}) N "
        "ON S.dest_table = N.dest_table "
        "WHEN MATCHED THEN UPDATE SET cursor_value = N.cursor_value, run_id = N.run_id, updated_at = N.updated_at "
        "WHEN NOT MATCHED THEN INSERT (dest_table, cursor_value, run_id, updated_at) "
        "VALUES (N.dest_table, N.cursor_value, N.run_id, N.updated_at)",
        f"MERGE {files_ref} F USING (SELECT * FROM {wh._ref(t.dest_dataset, files_stage)}) N "
        "ON F.dest_table = N.dest_table AND F.path = N.path "
        f"WHEN MATCHED THEN UPDATE SET {updates} "
        f"WHEN NOT MATCHED THEN INSERT ({', '.join(file_cols)}) VALUES ({', '.join('N.' + c for c in file_cols)})",
    ]
    return "BEGIN TRANSACTION;\n" + ";\n".join(statements) + ";\nCOMMIT TRANSACTION;"


def _column(mapping: dict[str, str], name: str, types: dict[str, str], what: str) -> str:
    dest = mapping.get(name, name)
    if dest not in types:
        raise WarehouseError(f"{what} column {name!r} is not among the loaded columns")
    return dest


def _partition_expr(t: TableConfig, mapping: dict[str, str], types: dict[str, str]) -> str:
    """PARTITION BY expression for CREATE TABLE ... AS SELECT."""
    if t.partition is None:
        return ""
    col = _column(mapping, t.partition.column, types, "partition")
    gran, kind = t.partition.granularity, types[col]
    if kind == "DATE" and gran == "DAY":
        return f"PARTITION BY {quote(col)}"
    functions = {"TIMESTAMP": "TIMESTAMP_TRUNC", "DATETIME": "DATETIME_TRUNC", "DATE": "DATE_TRUNC"}
    if kind not in functions or (kind == "DATE" and gran == "HOUR"):
        raise WarehouseError(f"cannot partition by {col} ({kind}) with granularity {gran}")
    return f"PARTITION BY {functions[kind]}({quote(col)}, {gran})"


def _cluster_expr(t: TableConfig, mapping: dict[str, str], types: dict[str, str]) -> str:
    if not t.cluster_by:
        return ""
    cols = [quote(_column(mapping, c, types, "cluster")) for c in t.cluster_by]
    return "CLUSTER BY " + ", ".join(cols)


def _ctas(wh: BigQueryWarehouse, t: TableConfig, stage: str, mapping: dict[str, str], types: dict[str, str]) -> str:
    """The replace swap: one atomic CREATE OR REPLACE TABLE ... AS SELECT."""
    spec = " ".join(p for p in (_partition_expr(t, mapping, types), _cluster_expr(t, mapping, types)) if p)
    return (f"CREATE OR REPLACE TABLE {wh._ref(t.dest_dataset, t.dest_table)} {spec} "
            f"AS SELECT * FROM {wh._ref(t.dest_dataset, stage)}")  # fmt: skip


def _prepare_target(wh: BigQueryWarehouse, t: TableConfig, fields: list, mapping: dict[str, str]) -> tuple[list, list]:
    """Create the destination (partitioned/clustered) or bring its schema up to the incoming one."""
    from google.cloud import bigquery

    existing = wh._get_table(t.dest_dataset, t.dest_table)
    types = {f.name: bs.canonical(f.field_type) for f in fields}
    if existing is None:
        table = bigquery.Table(wh._table_id(t.dest_dataset, t.dest_table), schema=fields)
        if t.partition is not None:
            col = _column(mapping, t.partition.column, types, "partition")
            table.time_partitioning = bigquery.TimePartitioning(type_=t.partition.granularity, field=col)
        if t.cluster_by:
            table.clustering_fields = [_column(mapping, c, types, "cluster") for c in t.cluster_by]
        wh.client.create_table(table, retry=wh._retry())
        return [], []
    drift = bs.plan_drift(existing.schema, fields, t.schema_drift, f"{t.dest_dataset}.{t.dest_table}")
    target = wh._ref(t.dest_dataset, t.dest_table)
    if drift.added:  # DDL rather than a schema patch: bqemulator only honours the DDL
        columns = ", ".join(f"ADD COLUMN {quote(f.name)} {bs.ddl_type(f)}" for f in drift.added)
        wh.query(f"ALTER TABLE {target} {columns}")
    for column, new_type in drift.widened:
        wh.query(f"ALTER TABLE {wh._ref(t.dest_dataset, t.dest_table)} ALTER COLUMN {quote(column)} "
                 f"SET DATA TYPE {new_type}")  # fmt: skip
    return drift.added, drift.widened


def _pk(t: TableConfig, mapping: dict[str, str]) -> list[str]:
    return [quote(mapping.get(k, k)) for k in t.primary_key]


def _key_match(t: TableConfig, mapping: dict[str, str], a: str, b: str) -> str:
    """Rows a and b have the same primary key, a NULL key part equal to NULL (as in the DuckDB warehouse).

    With `=` a key with a NULL part never matches, so a merge would insert it again instead of updating it.
    """
    return " AND ".join(f"{a}.{k} IS NOT DISTINCT FROM {b}.{k}" for k in _pk(t, mapping))


def _append_source(wh: BigQueryWarehouse, t: TableConfig, stage: str, names: list[str], mapping: dict[str, str]) -> str:
    """The stage; with a lookback and a primary key, rows already in the table are left out."""
    stage_ref = wh._ref(t.dest_dataset, stage)
    if not (t.lookback_seconds and t.primary_key):
        return stage_ref
    match = _key_match(t, mapping, "D", "S")
    return (f"(SELECT S.* FROM {stage_ref} S WHERE NOT EXISTS "
            f"(SELECT 1 FROM {wh._ref(t.dest_dataset, t.dest_table)} D WHERE {match}))")  # fmt: skip


def _dedup(wh: BigQueryWarehouse, t: TableConfig, stage: str, mapping: dict[str, str]) -> str:
    """The stage with one row per primary key: the one with the highest cursor."""
    order = ""
    if t.cursor_column:
        order = f"ORDER BY {quote(mapping.get(t.cursor_column, t.cursor_column))} DESC"
    return (f"(SELECT * EXCEPT(__etl_rn) FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY "
            f"{', '.join(_pk(t, mapping))} {order}) AS __etl_rn FROM {wh._ref(t.dest_dataset, stage)}) "
            "WHERE __etl_rn = 1)")  # fmt: skip


def _merge(wh: BigQueryWarehouse, t: TableConfig, source: str, names: list[str], mapping: dict[str, str]) -> str:
    """MERGE by primary key: update matched rows, insert new ones."""
    keys = _pk(t, mapping)
    cols = [quote(n) for n in names]
    on = _key_match(t, mapping, "T", "S")
    updates = ", ".join(f"{c} = S.{c}" for c in cols if c not in keys)
    matched = f"WHEN MATCHED THEN UPDATE SET {updates} " if updates else ""
    values = ", ".join("S." + c for c in cols)
    return (f"MERGE {wh._ref(t.dest_dataset, t.dest_table)} T USING {source} S ON {on} {matched}"
            f"WHEN NOT MATCHED THEN INSERT ({', '.join(cols)}) VALUES ({values})")  # fmt: skip


def describe(wh: BigQueryWarehouse, dataset: str, table: str) -> Any:
    """The destination table's metadata (for tests and reporting)."""
    return wh._get_table(dataset, table)

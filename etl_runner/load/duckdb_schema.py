"""DuckDB schema drift: compare an incoming Arrow schema with an existing table; add or widen, else fail."""

from __future__ import annotations

import re

import duckdb
import pyarrow as pa

from etl_runner.load.base import WarehouseError

_INT_RANK = {"TINYINT": 1, "SMALLINT": 2, "INTEGER": 3, "BIGINT": 4, "HUGEINT": 5}
_UINT_RANK = {"UTINYINT": 1, "USMALLINT": 2, "UINTEGER": 3, "UBIGINT": 4, "UHUGEINT": 5}
_FLOAT_RANK = {"FLOAT": 1, "DOUBLE": 2}
_DECIMAL = re.compile(r"^DECIMAL\((\d+),(\d+)\)$")


def quote(name: str) -> str:
    """DuckDB identifier quoting (double quotes doubled); names were validated by config/normalize."""
    if not name or "\x00" in name:
        raise WarehouseError(f"invalid identifier {name!r}")
    return '"' + name.replace('"', '""') + '"'


def arrow_column_types(con: duckdb.DuckDBPyConnection, schema: pa.Schema) -> dict[str, str]:
    """The DuckDB type DuckDB gives each Arrow field (asked of DuckDB itself, no hand-written map)."""
    con.register("__etl_empty", schema.empty_table())
    try:
        rows = con.execute("DESCRIBE SELECT * FROM __etl_empty").fetchall()
    finally:
        con.unregister("__etl_empty")
    return {r[0]: r[1] for r in rows}


def table_column_types(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict[str, str]:
    """Existing columns of schema.table and their types (empty dict if the table does not exist)."""
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [schema, table],
    ).fetchall()
    return {name: dtype for name, dtype in rows}


def _fits(narrow: str, wide: str) -> bool:
    """True when every `narrow` value is exactly a `wide` value (the same type counts)."""
    if narrow == wide:
        return True
    for ranks in (_INT_RANK, _UINT_RANK, _FLOAT_RANK):
        if narrow in ranks and wide in ranks:
            return ranks[narrow] <= ranks[wide]
    if narrow in _UINT_RANK and wide in _INT_RANK:
        return _UINT_RANK[narrow] < _INT_RANK[wide]
    dn, dw = _DECIMAL.match(narrow), _DECIMAL.match(wide)
    if dn and dw:
        (pn, sn), (pw, sw) = map(int, dn.groups()), map(int, dw.groups())
        return sw >= sn and pw - sw >= pn - sn
    if narrow in _INT_RANK and dw:
        digits = {1: 3, 2: 5, 3: 10, 4: 19, 5: 39}[_INT_RANK[narrow]]
        return int(dw.group(1)) - int(dw.group(2)) >= digits
    if narrow in ("FLOAT",) and wide == "DOUBLE":
        return True
    return narrow == "TIMESTAMP" and wide == "TIMESTAMP_NS"


def plan_drift(existing: dict[str, str], incoming: dict[str, str], drift: str, label: str) -> tuple[list, list]:
    """(columns to add, columns to widen) for the incoming stream; WarehouseError for anything unsafe."""
    added = [(c, t) for c, t in incoming.items() if c not in existing]
    if added and drift == "fail":
        raise WarehouseError(f"{label}: new source columns {[c for c, _ in added]} and schema_drift is 'fail'")
    widen, problems = [], []
    for col, new_type in incoming.items():
        old_type = existing.get(col)
        if old_type is None or _fits(new_type, old_type):
            continue
        if _fits(old_type, new_type):
            widen.append((col, new_type))
        else:
            problems.append(f"column {col!r} changed type {old_type} -> {new_type}")
    if problems:
        raise WarehouseError(f"{label}: incompatible type change: {'; '.join(problems)}")
    return added, widen


def apply_drift(con: duckdb.DuckDBPyConnection, target: str, added: list, widen: list) -> None:
    """Add new columns (nullable) and widen types; existing columns are never dropped."""
    for col, dtype in added:
        con.execute(f"ALTER TABLE {target} ADD COLUMN {quote(col)} {dtype}")
    for col, dtype in widen:
        con.execute(f"ALTER TABLE {target} ALTER COLUMN {quote(col)} SET DATA TYPE {dtype}")

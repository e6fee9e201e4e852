"""Source column types -> warehouse column types (DuckDB and BigQuery names), and the safe-widening rules.

`map_type(source_kind, source_type)` is used by previews and file-schema detection; the ETL side reuses it
and `is_safe_widening` to validate destinations.
"""
from __future__ import annotations

import re

STRING = ("VARCHAR", "STRING")
INTEGER = ("BIGINT", "INT64")
FLOAT = ("DOUBLE", "FLOAT64")
BOOL = ("BOOLEAN", "BOOL")
BYTES = ("BLOB", "BYTES")
DATE = ("DATE", "DATE")
TIME = ("TIME", "TIME")
DATETIME = ("TIMESTAMP", "DATETIME")        # wall-clock time without a zone
TIMESTAMP = ("TIMESTAMPTZ", "TIMESTAMP")    # an instant (UTC)
JSON = ("JSON", "JSON")
DEFAULT_DECIMAL = ("DECIMAL(38,9)", "NUMERIC")

_SQL_TYPES: dict[str, tuple[str, str]] = {
    "smallint": ("SMALLINT", "INT64"), "int2": ("SMALLINT", "INT64"), "smallserial": ("SMALLINT", "INT64"),
    "integer": ("INTEGER", "INT64"), "int": ("INTEGER", "INT64"), "int4": ("INTEGER", "INT64"),
    "serial": ("INTEGER", "INT64"), "mediumint": ("INTEGER", "INT64"), "tinyint": ("SMALLINT", "INT64"),
    "bigint": INTEGER, "int8": INTEGER, "bigserial": INTEGER, "year": ("INTEGER", "INT64"),
    "oid": INTEGER, "bit": INTEGER,
    "real": ("FLOAT", "FLOAT64"), "float4": ("FLOAT", "FLOAT64"), "float": FLOAT,
    "double": FLOAT, "double precision": FLOAT, "float8": FLOAT, "money": DEFAULT_DECIMAL,
    "boolean": BOOL, "bool": BOOL,
    "bytea": BYTES, "blob": BYTES, "tinyblob": BYTES, "mediumblob": BYTES, "longblob": BYTES,
    "binary": BYTES, "varbinary": BYTES,
    "date": DATE, "time": TIME, "time without time zone": TIME, "time with time zone": TIME, "timetz": TIME,
    "timestamp without time zone": DATETIME, "datetime": DATETIME,
    "timestamp with time zone": TIMESTAMP, "timestamptz": TIMESTAMP,
    "interval": ("INTERVAL", "INTERVAL"),
    "json": JSON, "jsonb": JSON,
    "uuid": STRING, "text": STRING, "varchar": STRING, "character varying": STRING, "character": STRING,
    "char": STRING, "bpchar": STRING, "name": STRING, "citext": STRING, "tinytext": STRING,
    "mediumtext": STRING, "longtext": STRING, "enum": STRING, "set": STRING, "inet": STRING, "cidr": STRING,
    "macaddr": STRING, "xml": STRING, "clob": STRING, "nvarchar": STRING, "nchar": STRING,
}

_BIGQUERY_TYPES: dict[str, tuple[str, str]] = {
    "INT64": INTEGER, "INTEGER": INTEGER, "FLOAT64": FLOAT, "FLOAT": FLOAT, "NUMERIC": DEFAULT_DECIMAL,
    "DECIMAL": DEFAULT_DECIMAL, "BIGNUMERIC": ("VARCHAR", "BIGNUMERIC"), "BIGDECIMAL": ("VARCHAR", "BIGNUMERIC"),
    "BOOL": BOOL, "BOOLEAN": BOOL, "STRING": STRING, "BYTES": BYTES, "DATE": DATE, "TIME": TIME,
    "DATETIME": DATETIME, "TIMESTAMP": TIMESTAMP, "JSON": JSON, "GEOGRAPHY": ("VARCHAR", "GEOGRAPHY"),
    "RECORD": JSON, "STRUCT": JSON, "INTERVAL": ("INTERVAL", "INTERVAL"),
}

_FIRESTORE_TYPES: dict[str, tuple[str, str]] = {
    "string": STRING, "integer": INTEGER, "double": FLOAT, "boolean": BOOL, "timestamp": TIMESTAMP,
    "map": JSON, "array": JSON, "reference": STRING, "geopoint": JSON, "bytes": BYTES, "null": STRING,
}

_BQ_ALIASES = {"INTEGER": "INT64", "FLOAT": "FLOAT64", "BOOLEAN": "BOOL", "DECIMAL": "NUMERIC",
               "BIGDECIMAL": "BIGNUMERIC", "RECORD": "STRUCT"}
_SAFE_WIDENINGS = {("INT64", "NUMERIC"), ("INT64", "BIGNUMERIC"), ("INT64", "FLOAT64"),
                   ("NUMERIC", "BIGNUMERIC"), ("NUMERIC", "FLOAT64")}


def map_type(source_kind: str, source_type: str) -> dict[str, str]:
    """The proposed warehouse types for one source column type: {"duckdb": ..., "bigquery": ...}."""
    text = (source_type or "").strip()
    if source_kind == "bigquery":
        duck, bq = _bigquery(text)
    elif source_kind == "firestore":
        duck, bq = _FIRESTORE_TYPES.get(text.lower(), STRING)
    elif source_kind in ("local_files", "gcs", "s3", "azure_blob", "arrow"):
        duck, bq = _arrow(text.lower())
    elif source_kind == "sqlite":
        duck, bq = _sqlite(text.lower())
    else:
        duck, bq = _sql(text.lower(), mysql=source_kind == "mysql")
    return {"duckdb": duck, "bigquery": bq}


def is_safe_widening(from_bq_type: str, to_bq_type: str) -> bool:
    """True when a BigQuery column of `from` type can hold `to` values by widening in place (or same type)."""
    source, target = _bq_base(from_bq_type), _bq_base(to_bq_type)
    return source == target or (source, target) in _SAFE_WIDENINGS


def _bq_base(name: str) -> str:
    base = re.sub(r"\(.*\)", "", (name or "").strip().upper()).strip()
    return _BQ_ALIASES.get(base, base)


def _decimal(text: str) -> tuple[str, str]:
    match = re.search(r"\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)", text)
    if not match:
        return DEFAULT_DECIMAL
    precision, scale = int(match.group(1)), int(match.group(2) or 0)
    if precision <= 38:
        bq = "NUMERIC" if precision - scale <= 29 and scale <= 9 else "BIGNUMERIC"
        return f"DECIMAL({precision},{scale})", bq
    return "DOUBLE", "BIGNUMERIC"


def _sql(text: str, *, mysql: bool) -> tuple[str, str]:
    if text.endswith("[]") or text.startswith("array"):
        return "JSON", "JSON"
    if mysql and re.match(r"tinyint\s*\(\s*1\s*\)", text):
        return BOOL
    if mysql and text.startswith("timestamp"):
        return TIMESTAMP
    if text.startswith(("numeric", "decimal", "dec ")) or text in ("dec", "number"):
        return _decimal(text)
    if "unsigned" in text and text.startswith("bigint"):
        return "DECIMAL(20,0)", "NUMERIC"
    base = re.sub(r"\(.*?\)", "", text).replace("unsigned", "").replace("zerofill", "").strip()
    if base.startswith("timestamp"):
        return TIMESTAMP if "with time zone" in base and "without" not in base else DATETIME
    if base.startswith(("enum", "set")):
        return STRING
    return _SQL_TYPES.get(base, STRING)


def _sqlite(text: str) -> tuple[str, str]:
    if not text:
        return STRING
    if text.startswith(("decimal", "numeric")) and "(" in text:
        return _decimal(text)
    for names, result in ((("datetime", "timestamp"), DATETIME), (("date",), DATE), (("bool",), BOOL)):
        if text.startswith(names):
            return result
    if "int" in text:
        return INTEGER
    if any(part in text for part in ("char", "clob", "text")):
        return STRING
    if "blob" in text:
        return BYTES
    if any(part in text for part in ("real", "floa", "doub")):
        return FLOAT
    return FLOAT if text in ("numeric", "decimal") else STRING


def _bigquery(text: str) -> tuple[str, str]:
    upper = text.upper()
    if upper.startswith(("ARRAY", "REPEATED")):
        return "JSON", upper if upper.startswith("ARRAY") else "JSON"
    base = re.sub(r"\(.*\)", "", upper).strip()
    duck, bq = _BIGQUERY_TYPES.get(base, STRING)
    return duck, (upper if base in ("NUMERIC", "BIGNUMERIC") and "(" in upper else bq)


def _arrow(text: str) -> tuple[str, str]:
    if text.startswith(("int", "uint")):
        return INTEGER
    if text in ("halffloat", "float", "double", "float16", "float32", "float64"):
        return FLOAT
    if text.startswith("decimal"):
        return _decimal(text)
    if text.startswith("timestamp"):
        return TIMESTAMP if "tz=" in text else DATETIME
    if text.startswith("date"):
        return DATE
    if text.startswith("time"):
        return TIME
    if text in ("bool", "boolean"):
        return BOOL
    if "binary" in text:
        return BYTES
    if text.startswith(("list", "large_list", "struct", "map", "fixed_size_list")):
        return JSON
    return STRING

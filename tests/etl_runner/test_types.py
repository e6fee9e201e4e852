"""Type round-trip matrix: every PostgreSQL and MySQL type, with NULLs, extremes and unicode, loaded exactly."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import duckdb

from tests.etl_runner.runner_util import job_config, mysql_exec, pg_exec, pg_rows, run_pipeline, source_for

UTC = dt.UTC
PG_TABLE = """CREATE TABLE types (
  id int PRIMARY KEY, i2 smallint, i4 integer, i8 bigint, n10_2 numeric(10,2), n38_10 numeric(38,10),
  n_free numeric, f4 real, f8 double precision, b boolean, t text, vc varchar(20), ch char(3),
  ts timestamp(6), tstz timestamptz, d date, tm time, j json, jb jsonb, u uuid, ba bytea,
  ai int[], tarr text[], iv interval, inet_ inet, "Weird Name!" text)"""
PG_ROWS = """INSERT INTO types VALUES
 (1, -32768, -2147483648, -9223372036854775808, -99999999.99, -9999999999999999999999999999.9999999999,
  -12345678901234567890123456789.123456789, -3.4e38, -1.7976931348623157e308, false, '', '', 'a',
  '0001-01-01 00:00:00', '0001-01-01 00:00:00+00', '0001-01-01', '00:00:00', '{}', '{}',
  '00000000-0000-0000-0000-000000000000', '\\x', '{}', '{}', '0 seconds', '0.0.0.0', 'x'),
 (2, 32767, 2147483647, 9223372036854775807, 99999999.99, 9999999999999999999999999999.9999999999,
  0.000000001, 3.4e38, 1.7976931348623157e308, true, 'héllo wörld ✓ 日本語 🎉', 'ünïcode', 'xyz',
  '9999-12-31 23:59:59.999999', '9999-12-31 23:59:59.999999+00', '9999-12-31', '23:59:59.999999',
  '{"a": [1, "ü", null]}', '{"b": {"c": true}}', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '\\x00ff10',
  '{1,NULL,3}', '{"a","é",NULL}', '1 year 2 mons 3 days 04:05:06.789', '2001:db8::1', 'y'),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)"""


def load(tmp_path, source, table="types", **extra):
    cfg = job_config(source, tmp_path / "w.duckdb", [{"source_table": table, "dest_table": table, **extra}])
    result, _ = run_pipeline(cfg)
    return result


def dest(tmp_path, query):
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        con.execute("SET TimeZone = 'UTC'")
        return con.execute(query).fetchall()


def test_postgres_types_round_trip_exactly(pg_database, tmp_path):
    pg_exec(pg_database, PG_TABLE, PG_ROWS)
    result = load(tmp_path, source_for("postgresql", pg_database), source_schema="public")
    assert result.status == "completed", result
    cols = "id, i2, i4, i8, n10_2, n38_10, n_free, f8, b, t, vc, ch, ts, tstz, d, tm, ba, ai, tarr"
    expected = pg_rows(pg_database, f"SELECT {cols} FROM types ORDER BY id")
    got = dest(tmp_path, f"SELECT {cols} FROM p1_raw.types ORDER BY id")
    for exp_row, got_row in zip(expected, got, strict=True):
        for name, e, g in zip(cols.split(", "), exp_row, got_row, strict=True):
            if isinstance(e, dt.datetime) and e.tzinfo is not None:
                g = g.astimezone(UTC)
            assert e == g, (name, e, g)
    types = dict(dest(tmp_path, "SELECT column_name, data_type FROM information_schema.columns "
                                "WHERE table_name = 'types'"))
    assert types["n10_2"] == "DECIMAL(10,2)" and types["n38_10"] == "DECIMAL(38,10)"
    assert types["n_free"] == "DECIMAL(38,9)" and types["tstz"] == "TIMESTAMP WITH TIME ZONE"
    assert types["ts"] == "TIMESTAMP" and types["j"] == "JSON" and types["u"] == "UUID"
    assert types["ai"] == "INTEGER[]" and types["Weird_Name"] == "VARCHAR"
    row2 = dest(tmp_path, "SELECT f4, j, jb, u, iv, inet_ FROM p1_raw.types WHERE id = 2")[0]
    assert row2[0] == 3.4e38 or abs(row2[0] - 3.4e38) / 3.4e38 < 1e-6
    assert row2[1] == '{"a": [1, "ü", null]}' and row2[2] == '{"b": {"c": true}}'
    assert row2[3] == uuid.UUID("ffffffff-ffff-ffff-ffff-ffffffffffff")
    assert row2[5] == "2001:db8::1/128"  # PostgreSQL own text form
    assert dest(tmp_path, "SELECT count(*) FROM p1_raw.types WHERE id = 3 AND i2 IS NULL AND t IS NULL "
                          "AND j IS NULL AND ai IS NULL AND ts IS NULL AND n_free IS NULL")[0][0] == 1


def test_unrepresentable_value_fails_naming_column_and_row(pg_database, tmp_path):
    pg_exec(pg_database, "CREATE TABLE big (id int, v numeric)",
            "INSERT INTO big SELECT g, 1 FROM generate_series(1, 1500) g",
            "INSERT INTO big VALUES (1501, 0.1234567890123)")
    result = load(tmp_path, source_for("postgresql", pg_database), table="big", source_schema="public")
    assert result.status == "failed"
    assert "column 'v' row 1501" in result.tables[0].error


MY_TABLE = """CREATE TABLE types (
  id int PRIMARY KEY, ti tinyint, si smallint, mi mediumint, i int, bi bigint, ubi bigint unsigned,
  d10_2 decimal(10,2), d65_30 decimal(65,30), f float, db double, b tinyint(1), c char(5), vc varchar(50),
  tx text, bl blob, bn binary(4), dtm datetime(6), tsp timestamp(6) NULL, dte date, tm time(6), yr year,
  js json, en enum('a','b'), bt bit(8)) CHARACTER SET utf8mb4"""
MY_ROWS = """INSERT INTO types VALUES
 (1, -128, -32768, -8388608, -2147483648, -9223372036854775808, 0, -99999999.99,
  -99999999999999999999999999999999999.999999999999999999999999999999, -3.4e38, -1.7976931348623157e308, 0,
  '', '', '', x'', x'00000000', '1000-01-01 00:00:00', '1970-01-01 00:00:01', '1000-01-01', '00:00:00', 1901,
  '{}', 'a', b'0'),
 (2, 127, 32767, 8388607, 2147483647, 9223372036854775807, 18446744073709551615, 99999999.99,
  99999999999999999999999999999999999.999999999999999999999999999999, 3.4e38, 1.7976931348623157e308, 1,
  'xyzzy', 'héllo ✓ 日本語 🎉', 'tëxt', x'00ff', x'01020304', '9999-12-31 23:59:59.999999',
  '2038-01-19 03:14:07.999999', '9999-12-31', '23:59:59.999999', 2155, '{"a": [1, "ü", null]}', 'b', b'11111111'),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL)"""


def test_mysql_types_round_trip_exactly(mysql_database, tmp_path):
    mysql_exec(mysql_database, MY_TABLE, MY_ROWS)
    result = load(tmp_path, source_for("mysql", mysql_database))
    assert result.status == "completed", result
    got = {r[0]: r for r in dest(tmp_path, "SELECT * FROM p1_raw.types ORDER BY id")}
    assert got[1][1:7] == (-128, -32768, -8388608, -2147483648, -9223372036854775808, 0)
    assert got[2][1:7] == (127, 32767, 8388607, 2147483647, 9223372036854775807, 18446744073709551615)
    assert got[2][7] == Decimal("99999999.99")
    assert got[2][8] == "99999999999999999999999999999999999.999999999999999999999999999999"  # > 38 digits: text
    assert got[2][10] == 1.7976931348623157e308 and got[2][11] == 1
    assert got[2][12:17] == ("xyzzy", "héllo ✓ 日本語 🎉", "tëxt", b"\x00\xff", b"\x01\x02\x03\x04")
    assert got[2][17] == dt.datetime(9999, 12, 31, 23, 59, 59, 999999)
    assert got[2][18] == dt.datetime(2038, 1, 19, 3, 14, 7, 999999, tzinfo=got[2][18].tzinfo)
    assert got[2][18].utcoffset() == dt.timedelta(0)
    assert got[2][19:22] == (dt.date(9999, 12, 31), dt.time(23, 59, 59, 999999), 2155)
    assert got[2][22] == '{"a": [1, "ü", null]}' and got[2][23] == "b"
    assert got[1][17] == dt.datetime(1000, 1, 1) and got[1][20] == dt.time(0, 0)
    assert all(v is None for v in got[3][1:])
    types = dict(dest(tmp_path, "SELECT column_name, data_type FROM information_schema.columns "
                                "WHERE table_name = 'types'"))
    assert types["d10_2"] == "DECIMAL(10,2)" and types["js"] == "JSON"
    assert types["tsp"] == "TIMESTAMP WITH TIME ZONE"
    assert types["ubi"] == "UBIGINT" and types["tm"] == "TIME"


def test_mysql_time_outside_a_day_fails_naming_column_and_row(mysql_database, tmp_path):
    mysql_exec(mysql_database, "CREATE TABLE t (id int, tm time)",
               "INSERT INTO t VALUES (1, '10:00'), (2, '-838:59:59')")
    result = load(tmp_path, source_for("mysql", mysql_database), table="t")
    assert result.status == "failed"
    assert "column 'tm' row 2" in result.tables[0].error

"""Secrets never leak: after creating, testing, browsing and updating connections whose secrets carry a marker,
the marker appears in no API response, no app-database row and no log line."""
import json
import logging
import uuid

import pymysql
import pytest
from django.db import connection as db

from ml_platform.tests.connections.conftest import call, create_connection

pytestmark = pytest.mark.django_db(transaction=True)
MARKER = f"Mrk{uuid.uuid4().hex}"


@pytest.fixture
def marker_mysql_user(mysql_database):
    """A MariaDB user whose real password is the marker."""
    name = f"h{uuid.uuid4().hex[:10]}"
    admin = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", autocommit=True)
    with admin.cursor() as cur:
        for host in ("127.0.0.1", "localhost", "%"):
            cur.execute("CREATE USER %s@%s IDENTIFIED BY %s", (name, host, MARKER))
            cur.execute(f"GRANT SELECT ON `{mysql_database['database']}`.* TO %s@%s", (name, host))
    yield name
    with admin.cursor() as cur:
        for host in ("127.0.0.1", "localhost", "%"):
            cur.execute("DROP USER IF EXISTS %s@%s", (name, host))
    admin.close()


def connection_bodies(pg, my, user, s3, azurite):
    service_account = json.dumps({"type": "service_account", "client_email": "a@b.iam.gserviceaccount.com",
                                  "private_key": f"-----BEGIN PRIVATE KEY-----\n{MARKER}\n-----END PRIVATE KEY-----\n"})
    return [
        {"name": "pg", "source_type": "postgresql", "host": pg["host"], "port": pg["port"],
         "database": pg["database"], "username": pg["username"], "password": MARKER},
        {"name": "my", "source_type": "mysql", "host": my["host"], "port": my["port"], "database": my["database"],
         "username": user, "password": MARKER},
        {"name": "s3", "source_type": "s3", "bucket_path": "s3://hygiene-bucket", "endpoint_url": s3.endpoint_url,
         "aws_access_key_id": "testing", "aws_secret_access_key": MARKER},
        {"name": "az", "source_type": "azure_blob", "bucket_path": "az://nothere", "endpoint_url": azurite.endpoint,
         "azure_storage_account": azurite.account_name, "azure_sas_token": f"sv=2024-01-01&sig={MARKER}"},
        {"name": "gcs", "source_type": "gcs", "bucket_path": "gs://hygiene", "endpoint_url": "http://127.0.0.1:1",
         "service_account_json": service_account},
    ]


def exercise(client, project, bodies) -> list[str]:
    """Drive every connection route with the marker secrets; return every response body."""
    seen = []
    for body in bodies:
        seen.append(call(client, "api_connection_test_wizard", project.id, body=body).content.decode())
        seen.append(call(client, "api_connection_test_wizard", project.id,
                         body={**body, "password": MARKER * 40} if "password" in body else body).content.decode())
        connection_id = create_connection(client, project, **body)
        for name, method in (("api_connection_get", "get"), ("api_connection_get_credentials", "get"),
                             ("api_connection_test", "post"), ("api_connection_test_and_fetch_tables", "post"),
                             ("api_etl_test_connection_in_wizard", "post"), ("api_connection_fetch_schemas", "get"),
                             ("api_connection_list_files", "get"), ("api_connection_get_usage", "get")):
            seen.append(call(client, name, connection_id, method=method).content.decode())
        seen.append(call(client, "api_connection_update", connection_id,
                         body={"description": "changed"}).content.decode())
        seen.append(call(client, "api_connection_create", project.id, body=body).content.decode())  # duplicate
    seen.append(call(client, "api_connection_list", project.id, method="get").content.decode())
    return seen


def database_text() -> str:
    """Every value of every row of every table of the app database, as text."""
    chunks = []
    with db.cursor() as cur:
        for table in db.introspection.table_names(cur):
            cur.execute(f"SELECT * FROM {db.ops.quote_name(table)}")  # noqa: S608 - names from introspection
            chunks.extend(repr(row) for row in cur.fetchall())
    return "\n".join(chunks)


def test_marker_secret_appears_nowhere(owner_client, project, pg_database, mysql_database, marker_mysql_user,
                                       s3_emulator, azurite, caplog, capfd):
    caplog.set_level(logging.DEBUG, logger="ml_platform")
    caplog.set_level(logging.INFO)
    bodies = connection_bodies(pg_database, mysql_database, marker_mysql_user, s3_emulator, azurite)
    responses = exercise(owner_client, project, bodies)
    assert any('"status": "success"' in r for r in responses)
    assert any('"status": "failed"' in r for r in responses)
    for text in responses:
        assert MARKER not in text, text[:500]
    assert MARKER not in database_text()
    assert MARKER not in caplog.text
    out, err = capfd.readouterr()
    assert MARKER not in out + err

"""Firestore source: root collections as tables, a schema inferred from a small sample of documents."""
from __future__ import annotations

import datetime as dt
from typing import Any

from ml_platform.utils.connection_manager.base import (
    CONNECT_TIMEOUT_SECONDS,
    SAMPLE_ROWS,
    Adapter,
    TestResult,
    check_identifier,
    google_credentials,
    table_preview,
)

DATABASE = "(default)"
ID_COLUMN = "_id"


class FirestoreAdapter(Adapter):
    """Official client; against the emulator (endpoint_url = host:port) it uses an insecure channel."""

    kind = "firestore"

    def __init__(self, params: dict[str, Any], secrets: dict[str, str]):
        super().__init__(params, secrets)
        self._client = None

    def client(self):
        if self._client is None:
            from google.cloud import firestore

            client = firestore.Client(project=self.params.get("project_id"),
                                      credentials=google_credentials(self.secrets, self.params))
            endpoint = (self.params.get("endpoint_url") or "").split("://", 1)[-1].rstrip("/")
            if endpoint:
                client._emulator_host = endpoint  # the documented emulator switch, without touching os.environ
            self._client = client
        return self._client

    def call(self, fn, *args, **kwargs):
        """One RPC with a short deadline; Google errors become readable SourceErrors."""
        from google.api_core import exceptions as gexc
        from google.api_core import retry as gretry
        from google.auth import exceptions as auth_exc

        retry = gretry.Retry(initial=0.2, maximum=2.0, timeout=CONNECT_TIMEOUT_SECONDS,
                             predicate=gretry.if_exception_type(gexc.ServiceUnavailable))
        try:
            return fn(*args, retry=retry, timeout=CONNECT_TIMEOUT_SECONDS, **kwargs)
        except (gexc.PermissionDenied, gexc.Unauthenticated):
            raise self.fail(f"Access denied to Firestore in project {self.params.get('project_id')}.",
                            code="auth") from None
        except (gexc.DeadlineExceeded, gexc.RetryError, gexc.ServiceUnavailable):
            raise self.fail(f"Host unreachable: Firestore did not answer within {CONNECT_TIMEOUT_SECONDS} s.") \
                from None
        except (gexc.GoogleAPIError, auth_exc.GoogleAuthError, OSError, ValueError) as exc:
            raise self.fail(f"Firestore error: {str(exc).splitlines()[0][:300]}") from None

    def _collections(self) -> list[str]:
        return sorted(c.id for c in self.call(lambda **kw: list(self.client().collections(**kw))))

    def test(self) -> TestResult:
        names = self._collections()
        return TestResult(True, f"Connected to Firestore in project {self.params.get('project_id')} "
                                f"({len(names)} collections).", {"collections": len(names)})

    def list_schemas(self) -> list[str]:
        return [DATABASE]

    def list_tables(self, schema: str) -> list[dict[str, Any]]:
        check_identifier(schema or DATABASE, [DATABASE], "Database")
        return [{"name": name, "type": "collection", "estimated_rows": None} for name in self._collections()]

    def describe_table(self, schema: str, table: str) -> dict[str, Any]:
        check_identifier(schema or DATABASE, [DATABASE], "Database")
        check_identifier(table, self._collections(), "Collection")
        docs = self.call(self.client().collection(table).limit(SAMPLE_ROWS).get)
        rows = [{ID_COLUMN: doc.id, **(doc.to_dict() or {})} for doc in docs]
        raw = [(ID_COLUMN, "string", False, True)] + infer_fields(rows)
        return table_preview(self.columns(raw), rows, estimated_rows=None, documents_sampled=len(rows))


def infer_fields(rows: list[dict[str, Any]]) -> list[tuple[str, str, bool, bool]]:
    """(name, firestore type, nullable, False) per field seen in the sampled documents, in first-seen order."""
    seen: dict[str, set[str]] = {}
    for row in rows:
        for name, value in row.items():
            if name != ID_COLUMN:
                seen.setdefault(name, set()).add(value_type(value))
    fields = []
    for name, kinds in seen.items():
        present_everywhere = all(name in row for row in rows)
        concrete = kinds - {"null"}
        kind = concrete.pop() if len(concrete) == 1 else ("double" if concrete == {"integer", "double"} else
                                                          "string")
        fields.append((name, kind, "null" in kinds or not present_everywhere, False))
    return fields


def value_type(value: Any) -> str:
    """The Firestore type name of a decoded document value."""
    if value is None:
        return "null"
    for python_type, name in ((bool, "boolean"), (int, "integer"), (float, "double"), (str, "string"),
                              (bytes, "bytes"), (dt.datetime, "timestamp"), (dict, "map"), (list, "array")):
        if isinstance(value, python_type):
            return name
    type_name = type(value).__name__
    return {"DocumentReference": "reference", "GeoPoint": "geopoint"}.get(type_name, "string")

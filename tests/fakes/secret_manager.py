"""A stateful Secret Manager REST fake: secrets, numbered versions with states, access of `latest`.

Speaks what `SecretManagerServiceClient(transport="rest")` sends (see ../shared/docs/services.md); enums are
answered as integers because every request asks for `enum-encoding=int`.
"""
import base64
from dataclasses import dataclass, field

import google_crc32c

from tests.fakes.base import FakeGoogleApi, RecordedRequest, error

ENABLED, DISABLED, DESTROYED = 1, 2, 3
SECRET = r"/v1/projects/(?P<project>[^/]+)/secrets/(?P<secret>[^/:]+)"
VERSION = SECRET + r"/versions/(?P<version>[^/:]+)"


@dataclass
class FakeSecret:
    name: str
    versions: list[dict] = field(default_factory=list)  # {"data": bytes, "state": int}


@dataclass
class FakeSecretManager(FakeGoogleApi):
    """Register with start(); inspect `secrets` (by full name) and `requests`."""

    secrets: dict[str, FakeSecret] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.route("POST", r"/v1/projects/(?P<project>[^/]+)/secrets", self.create_secret)
        self.route("GET", SECRET, self.get_secret)
        self.route("DELETE", SECRET, self.delete_secret)
        self.route("POST", SECRET + r":addVersion", self.add_version)
        self.route("GET", VERSION + r":access", self.access)
        for action, state in (("disable", DISABLED), ("enable", ENABLED), ("destroy", DESTROYED)):
            self.route("POST", VERSION + rf":{action}", self._set_state(state))

    @staticmethod
    def _name(project: str, secret: str) -> str:
        return f"projects/{project}/secrets/{secret}"

    def create_secret(self, request: RecordedRequest, project: str):
        secret_id = request.query.get("secretId", [""])[0]
        name = self._name(project, secret_id)
        if not secret_id:
            return error(400, "secretId is required", "INVALID_ARGUMENT")
        if name in self.secrets:
            return error(409, f"Secret [{name}] already exists.", "ALREADY_EXISTS")
        self.secrets[name] = FakeSecret(name)
        return 200, {"name": name, "replication": (request.body or {}).get("replication", {})}

    def get_secret(self, request: RecordedRequest, project: str, secret: str):
        name = self._name(project, secret)
        return (200, {"name": name}) if name in self.secrets else error(404, "Secret not found", "NOT_FOUND")

    def delete_secret(self, request: RecordedRequest, project: str, secret: str):
        if self.secrets.pop(self._name(project, secret), None) is None:
            return error(404, "Secret not found", "NOT_FOUND")
        return 200, {}

    def add_version(self, request: RecordedRequest, project: str, secret: str):
        stored = self.secrets.get(self._name(project, secret))
        if stored is None:
            return error(404, "Secret not found", "NOT_FOUND")
        payload = (request.body or {}).get("payload", {})
        data = base64.b64decode(payload.get("data", ""))
        if "dataCrc32c" in payload and int(payload["dataCrc32c"]) != google_crc32c.value(data):
            return error(400, "Checksum mismatch", "INVALID_ARGUMENT")
        stored.versions.append({"data": data, "state": ENABLED})
        return 200, {"name": f"{stored.name}/versions/{len(stored.versions)}", "state": ENABLED}

    def _version(self, project: str, secret: str, version: str):
        stored = self.secrets.get(self._name(project, secret))
        if stored is None:
            return None, None
        if version == "latest":
            enabled = [i for i, v in enumerate(stored.versions, 1) if v["state"] == ENABLED]
            number = enabled[-1] if enabled else 0
        else:
            number = int(version) if version.isdigit() else 0
        if not 1 <= number <= len(stored.versions):
            return stored, None
        return stored, number

    def access(self, request: RecordedRequest, project: str, secret: str, version: str):
        stored, number = self._version(project, secret, version)
        if number is None:
            return error(404, "Secret version not found", "NOT_FOUND")
        item = stored.versions[number - 1]
        if item["state"] != ENABLED:
            return error(400, f"Secret version is in {item['state']} state.", "FAILED_PRECONDITION")
        return 200, {"name": f"{stored.name}/versions/{number}",
                     "payload": {"data": base64.b64encode(item["data"]).decode(),
                                 "dataCrc32c": str(google_crc32c.value(item["data"]))}}

    def _set_state(self, state: int):
        def handler(request: RecordedRequest, project: str, secret: str, version: str):
            stored, number = self._version(project, secret, version)
            if number is None:
                return error(404, "Secret version not found", "NOT_FOUND")
            stored.versions[number - 1]["state"] = state
            return 200, {"name": f"{stored.name}/versions/{number}", "state": state}

        return handler

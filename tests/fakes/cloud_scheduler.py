"""A stateful fake of the Cloud Scheduler REST API (v1), enough for create/get/update/pause/resume/delete/list.

Jobs are stored as the JSON the client sends (camelCase, enums as integers); `state` 1 = ENABLED, 2 = PAUSED.
"""
import copy

from tests.fakes.base import FakeGoogleApi, RecordedRequest, error

ENABLED, PAUSED = 1, 2
PARENT = r"/v1/(?P<parent>projects/[^/]+/locations/[^/]+)"
JOB = PARENT + r"/jobs/(?P<job>[^/:]+)"


class FakeCloudScheduler(FakeGoogleApi):
    """Register with `start()`; inspect `jobs` (name -> job JSON) and `requests`."""

    def __init__(self):
        super().__init__()
        self.jobs: dict[str, dict] = {}
        self.route("POST", PARENT + "/jobs", self.create)
        self.route("GET", PARENT + "/jobs", self.list)
        self.route("GET", JOB, self.get)
        self.route("PATCH", JOB, self.patch)
        self.route("DELETE", JOB, self.delete)
        self.route("POST", JOB + ":pause", lambda request, **kw: self.set_state(PAUSED, **kw))
        self.route("POST", JOB + ":resume", lambda request, **kw: self.set_state(ENABLED, **kw))

    def calls(self) -> list[tuple[str, str]]:
        """(method, path) of every request, in order."""
        return [(r.method, r.path) for r in self.requests]

    def reset_requests(self) -> None:
        self.requests.clear()

    def create(self, request: RecordedRequest, parent: str):
        job = copy.deepcopy(request.body or {})
        name = job.get("name", "")
        if not name.startswith(parent + "/jobs/"):
            return error(400, "job name must be under the parent", "INVALID_ARGUMENT")
        if name in self.jobs:
            return error(409, "job already exists", "ALREADY_EXISTS")
        job["state"] = ENABLED
        self.jobs[name] = job
        return 200, job

    def get(self, request: RecordedRequest, parent: str, job: str):
        name = f"{parent}/jobs/{job}"
        if name not in self.jobs:
            return error(404, "job not found", "NOT_FOUND")
        return 200, self.jobs[name]

    def list(self, request: RecordedRequest, parent: str):
        jobs = [job for name, job in sorted(self.jobs.items()) if name.startswith(parent + "/jobs/")]
        return 200, {"jobs": jobs}

    def patch(self, request: RecordedRequest, parent: str, job: str):
        name = f"{parent}/jobs/{job}"
        if name not in self.jobs:
            return error(404, "job not found", "NOT_FOUND")
        mask = (request.query.get("updateMask") or [""])[0].split(",")
        for field in filter(None, mask):
            key = _camel(field)
            if key in (request.body or {}):
                self.jobs[name][key] = copy.deepcopy(request.body[key])
            else:
                self.jobs[name].pop(key, None)
        return 200, self.jobs[name]

    def delete(self, request: RecordedRequest, parent: str, job: str):
        name = f"{parent}/jobs/{job}"
        if self.jobs.pop(name, None) is None:
            return error(404, "job not found", "NOT_FOUND")
        return 200, {}

    def set_state(self, state: int, parent: str, job: str):
        name = f"{parent}/jobs/{job}"
        if name not in self.jobs:
            return error(404, "job not found", "NOT_FOUND")
        self.jobs[name]["state"] = state
        return 200, self.jobs[name]


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)

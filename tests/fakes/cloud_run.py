"""A stateful Cloud Run Jobs v2 fake: run a job (answered by an Operation whose metadata is the Execution),
read and cancel executions. Point `run_v2` clients at it with transport="rest" and AnonymousCredentials."""
from __future__ import annotations

import itertools

from tests.fakes.base import FakeGoogleApi, RecordedRequest, error

EXECUTION_TYPE = "type.googleapis.com/google.cloud.run.v2.Execution"


class FakeCloudRun(FakeGoogleApi):
    def __init__(self) -> None:
        super().__init__()
        self.executions: dict[str, dict] = {}
        self.jobs: set[str] = set()
        self._ids = itertools.count(1)
        self.route("POST", r"/v2/(?P<job>projects/[^/]+/locations/[^/]+/jobs/[^/:]+):run", self._run_job)
        self.route("GET", r"/v2/(?P<name>projects/[^/]+/locations/[^/]+/jobs/[^/]+/executions/[^/:]+)",
                   self._get_execution)
        self.route("POST", r"/v2/(?P<name>projects/[^/]+/locations/[^/]+/jobs/[^/]+/executions/[^/:]+):cancel",
                   self._cancel_execution)

    def add_job(self, name: str) -> None:
        self.jobs.add(name)

    def finish(self, execution_name: str, *, succeeded: bool = True) -> None:
        """Let an execution end as Cloud Run would report it."""
        execution = self.executions[execution_name]
        execution.update(runningCount=0, completionTime="2026-01-01T00:00:00Z",
                         **({"succeededCount": 1} if succeeded else {"failedCount": 1}))

    def _run_job(self, request: RecordedRequest, job: str) -> tuple[int, dict]:
        if job not in self.jobs:
            return error(404, f"Job {job} not found", "NOT_FOUND")
        name = f"{job}/executions/{job.rsplit('/', 1)[-1]}-{next(self._ids):05d}"
        execution = {"name": name, "job": job.rsplit("/", 1)[-1], "taskCount": 1, "runningCount": 1}
        self.executions[name] = execution
        operation = f"{job.split('/jobs/')[0]}/operations/{next(self._ids)}"
        return 200, {"name": operation, "done": False, "metadata": {"@type": EXECUTION_TYPE, **execution}}

    def _get_execution(self, request: RecordedRequest, name: str) -> tuple[int, dict]:
        if name not in self.executions:
            return error(404, f"Execution {name} not found", "NOT_FOUND")
        return 200, self.executions[name]

    def _cancel_execution(self, request: RecordedRequest, name: str) -> tuple[int, dict]:
        if name not in self.executions:
            return error(404, f"Execution {name} not found", "NOT_FOUND")
        self.executions[name].update(runningCount=0, cancelledCount=1, completionTime="2026-01-01T00:00:00Z")
        return 200, {"name": f"{name}/operations/cancel", "done": True,
                     "response": {"@type": EXECUTION_TYPE, **self.executions[name]}}

"""A tiny stateful HTTP fake for Google APIs that have no emulator (Secret Manager, Cloud Scheduler, Cloud Run).

Tests point the official clients at it with `transport="rest"`, `client_options={"api_endpoint": fake.url}` and
`AnonymousCredentials`, then assert the exact requests recorded in `fake.requests`.
"""
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: dict | None


@dataclass
class Route:
    method: str
    pattern: re.Pattern
    handler: Callable[..., tuple[int, dict]]


@dataclass
class FakeGoogleApi:
    """Subclass and register routes with `route(method, regex, handler)`; handlers get (request, **groups)."""

    routes: list[Route] = field(default_factory=list)
    requests: list[RecordedRequest] = field(default_factory=list)

    def route(self, method: str, regex: str, handler: Callable[..., tuple[int, dict]]) -> None:
        self.routes.append(Route(method, re.compile(f"^{regex}$"), handler))

    def dispatch(self, request: RecordedRequest) -> tuple[int, dict]:
        self.requests.append(request)
        for route in self.routes:
            match = route.pattern.match(request.path)
            if route.method == request.method and match:
                return route.handler(request, **match.groupdict())
        return 404, {"error": {"code": 404, "message": f"no route for {request.method} {request.path}",
                               "status": "NOT_FOUND"}}

    def start(self) -> str:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                recorded = RecordedRequest(self.command, parts.path, parse_qs(parts.query),
                                           dict(self.headers.items()), body)
                status, payload = fake.dispatch(recorded)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_DELETE = _serve  # noqa: N815

            def log_message(self, *args) -> None:  # keep test output clean
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        return self.url

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def error(status: int, message: str, grpc_status: str) -> tuple[int, dict]:
    """A Google-style JSON error body."""
    return status, {"error": {"code": status, "message": message, "status": grpc_status}}

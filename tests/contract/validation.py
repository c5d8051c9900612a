"""Check live HTTP traffic against Unipile's OpenAPI spec, and serve ASGI apps over loopback.

``SpecValidator`` wraps any ASGI app (our fake Unipile, a scripted test server): every
request under ``/api/v1`` is validated against the spec on the way in and every answer
on the way out; failures are recorded, never raised, so the app behaves as it would
without the check and a test asserts ``validator.violations == []`` at the end.
``serve`` runs an app with uvicorn in a thread on a free port, so the real httpx client
talks real HTTP to it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl

from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from werkzeug.datastructures import Headers, ImmutableMultiDict

# One of the spec's own servers: requests are matched against it whatever port we serve on.
SPEC_SERVER = "http://127.0.0.1:3114"
API_PREFIX = "/api/v1"


@cache
def load_spec(path: Path) -> OpenAPI | None:
    """The spec at ``path`` (parsed once per process, ~2 s), or ``None`` if it is absent.

    Under CI (``CI`` set) an absent spec is an error, not a silently weaker test.
    """
    if not path.exists():
        if os.environ.get("CI"):
            raise FileNotFoundError(f"the Unipile OpenAPI spec is not at {path} (UNIPILE_OPENAPI)")
        return None
    return OpenAPI.from_file_path(str(path))


@dataclass(frozen=True)
class Violation:
    """One request or response that does not match the spec."""

    direction: Literal["request", "response"]
    method: str
    path: str
    status: int | None
    errors: tuple[str, ...]

    def __str__(self) -> str:
        status = f" -> {self.status}" if self.status is not None else ""
        return f"{self.direction} {self.method} {self.path}{status}: " + "; ".join(self.errors)


@dataclass
class Call:
    """One request that reached the app, counted on arrival; ``status`` once it answered."""

    method: str
    path: str
    status: int | None = None


class SpecRequest:
    """openapi-core's ``Request`` protocol over an ASGI scope and its buffered body."""

    def __init__(self, scope: Scope, body: bytes) -> None:
        headers = Headers([(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]])
        query = scope.get("query_string", b"").decode("latin-1")
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qsl(query, keep_blank_values=True)), header=headers
        )
        self.host_url = SPEC_SERVER
        self.path: str = scope["path"]
        self.method: str = scope["method"].lower()
        self.body: bytes | None = body or None
        self.content_type: str = headers.get("content-type", "application/octet-stream")


class SpecResponse:
    """openapi-core's ``Response`` protocol over a captured ASGI answer."""

    def __init__(self, status: int, headers: Headers, data: bytes) -> None:
        self.status_code = status
        self.headers = headers
        self.data: bytes | None = data
        self.content_type: str = headers.get("content-type", "")


def _describe(errors: list[Exception]) -> tuple[str, ...]:
    """Readable errors: openapi-core hides the schema failures in ``__cause__``."""
    described = []
    for error in errors:
        cause = error.__cause__
        detail = getattr(cause, "schema_errors", None) or ([cause] if cause else [])
        reasons = ", ".join(getattr(item, "message", str(item)) for item in detail)
        described.append(f"{error!r}" + (f" ({reasons})" if reasons else ""))
    return tuple(described)


@dataclass
class SpecValidator:
    """ASGI middleware: validates traffic under ``/api/v1`` against ``spec`` and records it.

    With ``spec=None`` it only records calls (for counting) and validates nothing.
    """

    app: ASGIApp
    spec: OpenAPI | None
    validate_responses: bool = True
    violations: list[Violation] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        request = SpecRequest(scope, body)
        call = Call(request.method.upper(), request.path)
        self.calls.append(call)
        if self.spec is not None:
            self._record("request", request, None, list(self.spec.iter_request_errors(request)))
        captured: dict[str, Any] = {"headers": [], "body": b""}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                call.status = message["status"]
                captured["headers"] = message.get("headers", [])
            elif message["type"] == "http.response.body":
                captured["body"] += message.get("body", b"")
                if not message.get("more_body", False):
                    # Checked before the last bytes leave: once the client has its answer,
                    # the verdict is recorded (a test's teardown never misses it).
                    self._check_response(request, call, captured)
            await send(message)

        await self.app(scope, _replay(body, receive), capture)

    def _check_response(self, request: SpecRequest, call: Call, captured: dict[str, Any]) -> None:
        if self.spec is None or not self.validate_responses or call.status is None:
            return
        raw_headers = captured["headers"]
        headers = Headers([(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw_headers])
        response = SpecResponse(call.status, headers, captured["body"])
        errors = list(self.spec.iter_response_errors(request, response))
        self._record("response", request, call.status, errors)

    def _record(
        self,
        direction: Literal["request", "response"],
        request: SpecRequest,
        status: int | None,
        errors: list[Exception],
    ) -> None:
        if errors:
            violation = Violation(
                direction, request.method.upper(), request.path, status, _describe(errors)
            )
            self.violations.append(violation)

    def count(self, method: str, path: str) -> int:
        """How many ``method`` requests reached ``path`` (the full path, ``/api/v1/...``)."""
        return sum(1 for call in self.calls if call.method == method and call.path == path)

    def request_violations(self) -> list[Violation]:
        return [v for v in self.violations if v.direction == "request"]


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the buffered body to the app, then listens to the client."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay

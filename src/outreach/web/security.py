"""The front door's guards, as plain ASGI middleware: each request is checked before any
route runs, and each answer carries the browser's security headers.

- ``SecurityHeaders``: a strict Content-Security-Policy (scripts, styles and frames from
  this origin only; no one may frame the dashboard), ``nosniff``, no referrer abroad.
- ``SameOrigin``: a state-changing request to the dashboard whose ``Origin`` (or, when
  absent, ``Referer``) is another origin is refused. Ports count: a page on another port
  of this host is another origin (SameSite cookies would let it through). The API is not
  concerned: it takes bearer keys only, never the dashboard's cookie.
- ``BodyLimit``: a body over its route's limit is refused with 413 before it is read
  whole (imports have a larger limit than the rest).
- ``TextGuard``: a JSON body with text no database stores as such, a lone UTF-16
  surrogate escape (``"\\ud800"``) or a NUL (``"\\u0000"``, which PostgreSQL refuses),
  is refused with 422 instead of failing at the insert. Webhooks are exempt: their route
  keeps such text (replaced) rather than lose a reply.

The Host allow-list (DNS rebinding) is Starlette's ``TrustedHostMiddleware``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from outreach.errors import error_body

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


async def _send_error(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps(error_body(code, message)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.encode(), v.encode()) for k, v in HEADERS.items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, with_headers)


def _origin_of(url: str) -> str | None:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


class SameOrigin:
    """Refuse cross-origin state changes to the dashboard (CSRF, first line)."""

    def __init__(self, app: ASGIApp, *, exempt_prefixes: Iterable[str] = ("/api/",)) -> None:
        self.app = app
        self.exempt = tuple(exempt_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] not in SAFE_METHODS
            and not scope["path"].startswith(self.exempt)
        ):
            headers = Headers(scope=scope)
            origin = headers.get("origin") or _origin_of(headers.get("referer", ""))
            if origin is not None and not self._same(origin, headers.get("host", "")):
                await _send_error(
                    send, 403, "cross_origin", "a request from another site was refused"
                )
                return
        await self.app(scope, receive, send)

    @staticmethod
    def _same(origin: str, host: str) -> bool:
        if origin == "null":  # sandboxed frames, data: URLs, some redirects: never ours
            return False
        return bool(host) and urlsplit(origin).netloc.lower() == host.lower()


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is over {limit:,} bytes")
        self.limit = limit


class BodyLimit:
    """Refuse bodies over a limit: at once from ``Content-Length``, else while reading."""

    def __init__(self, app: ASGIApp, *, default: int, larger: dict[str, int] | None = None) -> None:
        self.app = app
        self.default = default
        self.larger = [(re.compile(p), n) for p, n in (larger or {}).items()]

    def limit_for(self, path: str) -> int:
        return next((n for p, n in self.larger if p.fullmatch(path)), self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await _send_error(send, 413, "too_large", str(BodyTooLarge(limit)))
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except BodyTooLarge as exc:
            if started:
                raise
            await _send_error(send, 413, "too_large", str(exc))


_ESCAPE = re.compile(rb"\\(u[0-9a-fA-F]{4}|.)", re.DOTALL)


def unstorable_text(body: bytes) -> bool:
    """Whether a JSON text escapes a NUL or a UTF-16 surrogate that is not half of a pair.

    Escapes are read in order, so ``\\\\ud800`` (a backslash, then text) is no escape.
    """
    pending_high, previous_end = False, -1
    for match in _ESCAPE.finditer(body):
        escape = match.group(1)
        unit = int(escape[1:], 16) if escape[:1] == b"u" else None
        is_high = unit is not None and 0xD800 <= unit <= 0xDBFF
        is_low = unit is not None and 0xDC00 <= unit <= 0xDFFF
        if unit == 0:
            return True
        if pending_high and not (is_low and match.start() == previous_end):
            return True
        if is_low and not pending_high:
            return True
        pending_high = is_high
        previous_end = match.end()
    return pending_high


class TextGuard:
    """Refuse JSON bodies holding text no database stores (a lone surrogate, a NUL)."""

    def __init__(self, app: ASGIApp, *, exempt: Iterable[str] = ()) -> None:
        self.app = app
        self.exempt = [re.compile(pattern) for pattern in exempt]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        content_type = (
            Headers(scope=scope).get("content-type", "") if scope["type"] == "http" else ""
        )
        if (
            "json" not in content_type
            or scope["method"] in SAFE_METHODS
            or any(p.fullmatch(scope["path"]) for p in self.exempt)
        ):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        body = b""
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        if unstorable_text(body):
            await _send_error(
                send,
                422,
                "invalid_input",
                "the body holds text that cannot be stored: a NUL (\\u0000) or a lone "
                "\\ud800-\\udfff escape",
            )
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

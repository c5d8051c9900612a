"""Real HTTP over loopback for tests: an ASGI app served by uvicorn in a thread."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Literal

import uvicorn
from starlette.types import ASGIApp

Lifespan = Literal["on", "off", "auto"]


def free_socket() -> socket.socket:
    """A loopback socket bound to a free port, so a URL is known before serving starts."""
    # IPPROTO_TCP named: asyncio sets TCP_NODELAY only on sockets whose proto says TCP;
    # without it every answer sent in two writes waits 40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def url_of(sock: socket.socket) -> str:
    return f"http://127.0.0.1:{sock.getsockname()[1]}"


@contextmanager
def serve_on(app: ASGIApp, sock: socket.socket, *, lifespan: Lifespan = "on") -> Iterator[str]:
    """Serve ``app`` on ``sock`` until the block ends (lifespan included); yield its URL."""
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan=lifespan, ws="none"
    )
    server = uvicorn.Server(config)

    def run() -> None:
        with suppress(SystemExit):  # uvicorn's answer to a failed startup; reported below
            server.run(sockets=[sock])

    thread = threading.Thread(target=run, name="loopback-uvicorn", daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the loopback server did not start (see the log)")
            threading.Event().wait(0.01)
        yield url_of(sock)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
        assert not thread.is_alive(), "the loopback server did not stop"


@contextmanager
def serve(app: ASGIApp, *, lifespan: Lifespan = "off") -> Iterator[str]:
    """Serve ``app`` on a free loopback port in a thread; yield its base URL."""
    with serve_on(app, free_socket(), lifespan=lifespan) as url:
        yield url

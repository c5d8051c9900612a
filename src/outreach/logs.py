"""Structured logs: JSON lines when not on a terminal, readable lines when on one.

Every line carries the ids bound where the work happens (``bound``): a stage binds its
journey, campaign, sender and DBOS workflow, so one journey's story can be grepped out of
a busy log. The standard library's records under ``outreach`` go through the same
chain. Two rules hold whatever a caller passes: no message text (a field named like one
is dropped) and no secret (every configured secret's value is masked wherever it appears).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, WrappedLogger

# Fields that would carry what people wrote or secrets: never written, whatever their value.
DROPPED = frozenset(
    {"text", "note", "body", "message_text", "reply", "password", "api_key", "token"}
    | {"authorization", "secret", "cookie", "payload"}
)
MASK = "[secret]"
HANDLER_NAME = "outreach-structured"


class Redactor:
    """Drops text-bearing fields and masks every known secret value in what remains."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def _clean(self, value: Any) -> Any:
        if isinstance(value, str):
            for secret in self.secrets:
                value = value.replace(secret, MASK)
            return value
        if isinstance(value, dict):
            return {k: self._clean(v) for k, v in value.items() if k not in DROPPED}
        if isinstance(value, list | tuple):
            return [self._clean(v) for v in value]
        return value

    def __call__(self, logger: WrappedLogger, name: str, event: EventDict) -> EventDict:
        return {k: self._clean(v) for k, v in event.items() if k not in DROPPED}


SHARED: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def _route_to_stdlib() -> None:
    """structlog's lines become standard-library records of the ``outreach`` loggers: with
    no handler configured (a test, a library use), only warnings reach standard error, as
    for any library; ``configure`` gives them their format and destination."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *SHARED,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


_route_to_stdlib()


def get(name: str = "outreach") -> Any:
    """A structured logger under ``outreach`` (a standard-library logger underneath)."""
    return structlog.get_logger(name)


@contextmanager
def bound(**ids: Any) -> Iterator[None]:
    """Every line logged inside carries ``ids`` (in this thread or task)."""
    with structlog.contextvars.bound_contextvars(**{k: v for k, v in ids.items() if v is not None}):
        yield


def configure(
    level: str = "WARNING",
    *,
    json: bool | None = None,
    stream: TextIO | None = None,
    secrets: Iterable[str] = (),
) -> logging.Handler:
    """Send the ``outreach`` loggers through structlog's chain to ``stream`` (standard
    error). ``json=None``: JSON unless the stream is a terminal. Configuring again
    replaces the previous handler."""
    stream = stream or sys.stderr
    as_json = not stream.isatty() if json is None else json
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=SHARED,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            Redactor(secrets),
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(formatter)
    logger = logging.getLogger("outreach")
    for old in [h for h in logger.handlers if h.get_name() == HANDLER_NAME]:
        logger.removeHandler(old)
    logger.addHandler(handler)
    logger.setLevel(level)
    return handler

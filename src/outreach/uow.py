"""The unit of work: a transaction, and the workflows to start once it has committed.

Services never start work themselves. They record it on the session (``defer``): which
workflow, with which arguments, under which business-key id, on which queue.
The edge that owns the transaction starts it after the commit:
``transaction(rt)`` for requests, the CLI and background loops; ``engine.tx`` for the
transactions workflows run. So a workflow never reads a state its caller might still roll
back, and a crash between the commit and the start is repaired by the sweep (every piece
of work has a business-key id, so starting it twice is a no-op).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from outreach.runtime import Runtime

_KEY = "outreach.deferred_work"


@dataclass(frozen=True)
class Work:
    """A workflow to start after commit.

    ``workflow`` names a DBOS workflow as ``module:function``; with a ``queue`` it is
    enqueued there (in ``partition``, for a partitioned queue), else started directly. Nothing waits
    in DBOS for a time: the governor starts a stage when it is due.
    """

    workflow: str
    args: tuple[Any, ...]
    workflow_id: str
    queue: str | None = None
    partition: str | None = None
    # Recorded on the workflow (DBOS attributes): the runs console filters by them.
    attributes: dict[str, int] | None = None

    def function(self) -> Callable[..., Any]:
        module, name = self.workflow.split(":")
        fn: Callable[..., Any] = getattr(importlib.import_module(module), name)
        return fn


def defer(session: Session, work: Work) -> Work:
    """Start ``work`` once ``session``'s transaction commits."""
    session.info.setdefault(_KEY, []).append(work)
    return work


def take_deferred(session: Session) -> list[Work]:
    """The work recorded on ``session`` so far (and forget it)."""
    work: list[Work] = session.info.pop(_KEY, [])
    return work


@contextmanager
def transaction(rt: Runtime) -> Iterator[Session]:
    """The edge's unit of work: commit (or roll back), then start what it recorded."""
    with rt.sessions() as session:
        with session.begin():
            yield session
        work = take_deferred(session)
    start_all(work)


def start_all(work: Iterable[Work]) -> None:
    from outreach.engine import start_work

    start_work(list(work))

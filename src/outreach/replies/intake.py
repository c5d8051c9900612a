"""Webhook intake: store and answer first, process after.

A delivery is answered once its row is committed, and only then: ``Intake`` writes the
deliveries that arrive together in one short transaction (a group commit: while one batch
is being written the next gathers, so the batch grows with the load and a lone delivery
waits for nobody). The transaction touches ``webhook_deliveries`` and nothing else, so no
import, stage or reply holds it up. An event is stored once, under its ``dedupe_key``
(``message_received:<message id>``…); a delivery of it again is kept as ``duplicate``.

``process_pending`` then handles each ``received`` delivery in its own transaction (the
unit of work: what it asks for starts after the commit), the row locked ``SKIP LOCKED``
so that several processes share the work and none does a delivery twice. A delivery whose
processing fails is tried again in the next rounds, and after ``MAX_ATTEMPTS`` it is kept
as ``failed``, with the error.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from outreach.metrics import WEBHOOK_DELIVERIES
from outreach.models import WebhookDelivery
from outreach.uow import transaction

if TYPE_CHECKING:
    from outreach.runtime import Runtime

log = logging.getLogger(__name__)

RECEIVED = "received"
DUPLICATE = "duplicate"
MAX_ATTEMPTS = 5
BATCH = 500  # deliveries written in one transaction at most
DELIVERIES: sa.Table = WebhookDelivery.__table__  # type: ignore[assignment]
ROUND = 1000  # deliveries processed in one round at most (then shutdown is looked at)


@dataclass(frozen=True)
class Delivery:
    """A delivery as it is stored: ``received`` ones are processed after."""

    event: str | None
    outcome: str
    payload: str
    dedupe_key: str | None = None
    error: str | None = None


class _Clock(Protocol):
    def now(self) -> datetime: ...


def store(
    sessions: sessionmaker[Session], now: datetime, source: str, deliveries: Sequence[Delivery]
) -> list[bool]:
    """Write ``deliveries`` in one transaction; for each, whether it was stored as itself
    (False: its event was stored before, so it is kept as a duplicate)."""
    first: dict[str, int] = {}  # dedupe key -> its first delivery in this batch
    for index, delivery in enumerate(deliveries):
        if delivery.dedupe_key is not None:
            first.setdefault(delivery.dedupe_key, index)
    with sessions() as session, session.begin():
        stored: set[str] = set()
        if first:
            rows = [_row(now, source, deliveries[i]) for i in first.values()]
            stored = set(session.execute(_insert_once(session), rows).scalars())
        kept = [
            delivery.dedupe_key is None
            or (first[delivery.dedupe_key] == index and delivery.dedupe_key in stored)
            for index, delivery in enumerate(deliveries)
        ]
        rest = [
            _row(now, source, _as_duplicate(delivery) if delivery.dedupe_key else delivery)
            for delivery, ok in zip(deliveries, kept, strict=True)
            if delivery.dedupe_key is None or not ok
        ]
        if rest:
            session.execute(sa.insert(DELIVERIES), rest)
    for delivery, ok in zip(deliveries, kept, strict=True):  # each counted by its outcome
        if not ok or delivery.outcome != RECEIVED:  # (a received one, once processed)
            WEBHOOK_DELIVERIES.labels(outcome=delivery.outcome if ok else DUPLICATE).inc()
    return kept


def _insert_once(session: Session) -> sa.Insert:
    """Insert-or-ignore on the dedupe key, returning the keys inserted: one statement of
    Core (cached, sent as multi-row VALUES by ``insertmanyvalues``), not an ORM flush."""
    key = [DELIVERIES.c.source, DELIVERIES.c.dedupe_key]
    insert = (
        postgresql.insert(DELIVERIES).on_conflict_do_nothing(index_elements=key)
        if session.get_bind().dialect.name == "postgresql"
        else sqlite.insert(DELIVERIES).on_conflict_do_nothing(index_elements=key)
    )
    return insert.returning(DELIVERIES.c.dedupe_key)


def _as_duplicate(delivery: Delivery) -> Delivery:
    return Delivery(delivery.event, DUPLICATE, delivery.payload, None, "already received")


def _row(now: datetime, source: str, delivery: Delivery) -> dict[str, object]:
    done = delivery.outcome != RECEIVED
    return {
        "received_at": now,
        "source": source,
        "event": delivery.event,
        "outcome": delivery.outcome,
        "error": delivery.error,
        "payload": delivery.payload,
        "dedupe_key": delivery.dedupe_key,
        "attempts": 0,
        "processed_at": now if done else None,
    }


class Intake:
    """Group commit for one event loop: ``await intake.store(delivery)`` returns once the
    delivery's row is committed (with whether it was stored as itself), together with
    every other delivery that arrived while the previous batch was being written."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: _Clock,
        source: str,
        *,
        wake: threading.Event,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._source = source
        self._wake = wake
        self._waiting: list[tuple[Delivery, asyncio.Future[bool]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def store(self, delivery: Delivery) -> bool:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((delivery, future))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_all())
        return await future

    async def _write_all(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[:BATCH], self._waiting[BATCH:]
                deliveries = [delivery for delivery, _ in batch]
                try:
                    kept = await asyncio.to_thread(
                        store, self._sessions, self._clock.now(), self._source, deliveries
                    )
                except Exception as exc:  # each waiting request answers 500
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), ok in zip(batch, kept, strict=True):
                    if not future.done():  # its client may have gone
                        future.set_result(ok)
                if any(d.outcome == RECEIVED for d in deliveries):
                    self._wake.set()
        finally:
            self._writer = None


Handler = Callable[[Session, datetime, WebhookDelivery], tuple[str, str | None]]


def process_pending(rt: Runtime, handle: Handler, *, limit: int = ROUND) -> int:
    """Process the ``received`` deliveries, oldest first, each in its own transaction;
    how many were done. ``handle`` returns the delivery's outcome and a note."""
    done = 0
    after = 0  # a delivery that failed is passed over until the next round
    while done < limit and not rt.stopping.is_set():
        claimed: int | None = None
        try:
            with transaction(rt) as session:
                delivery = _next_received(session, after)
                if delivery is None:
                    return done
                claimed = after = delivery.id
                outcome, note = handle(session, rt.clock.now(), delivery)
                _finish(delivery, rt.clock.now(), outcome, note)
        except Exception as exc:
            if claimed is None:  # the database itself: the next round tries again
                raise
            log.exception("webhook delivery %s could not be processed", claimed)
            _failed_once(rt, claimed, exc)
            continue
        WEBHOOK_DELIVERIES.labels(outcome=outcome).inc()
        done += 1
    return done


def _next_received(session: Session, after: int) -> WebhookDelivery | None:
    query = (
        sa.select(WebhookDelivery)
        .where(WebhookDelivery.outcome == RECEIVED, WebhookDelivery.id > after)
        .order_by(WebhookDelivery.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return session.execute(query).scalar_one_or_none()


def _finish(delivery: WebhookDelivery, now: datetime, outcome: str, note: str | None) -> None:
    delivery.outcome = outcome
    delivery.error = note
    delivery.processed_at = now
    delivery.attempts += 1


def _failed_once(rt: Runtime, delivery_id: int, exc: Exception) -> None:
    """Count the attempt; the last one keeps the delivery as ``failed``, with the error."""
    with rt.sessions() as session, session.begin():
        delivery = session.get(WebhookDelivery, delivery_id, with_for_update=True)
        if delivery is None or delivery.outcome != RECEIVED:
            return
        delivery.attempts += 1
        delivery.error = f"{type(exc).__name__}: {exc}"[:2000]
        if delivery.attempts >= MAX_ATTEMPTS:
            delivery.outcome = "failed"
            delivery.processed_at = rt.clock.now()
            WEBHOOK_DELIVERIES.labels(outcome="failed").inc()


def pending_since(session: Session) -> datetime | None:
    """When the oldest delivery still to be processed came (the simulated clock waits)."""
    query = sa.select(sa.func.min(WebhookDelivery.received_at)).where(
        WebhookDelivery.outcome == RECEIVED
    )
    at: datetime | None = session.execute(query).scalar_one_or_none()
    return at

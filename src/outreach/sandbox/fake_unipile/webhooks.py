"""Webhooks out of the fake Unipile, sent the way Unipile sends them.

A background thread polls the simulator (every ``poll_interval`` real seconds) for
replies and our own messages that became visible, acceptances old enough to be
announced, and account status changes; it POSTs flat JSON to every matching target and
retries a failed delivery (non-2xx or no answer) up to five times with growing delays.

Targets are the ``--webhook-url`` given at start (every source, with
``Content-Type: application/json`` and the ``Unipile-Auth`` secret) and the webhooks
registered through ``POST /webhooks``: those get exactly the headers they registered, as
Unipile does. Registrations and in-flight retries live in memory.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx

from outreach.linkedin.provider import AccountState
from outreach.sandbox.fake_unipile import payloads
from outreach.sandbox.records import own_provider_id
from outreach.sandbox.simulator import Simulator

logger = logging.getLogger(__name__)

RETRY_DELAYS = (1.0, 5.0, 30.0, 120.0, 600.0)  # real seconds between the five retries
SOURCES = ("messaging", "users", "account_status", "email", "email_tracking")
DEFAULT_EVENTS: dict[str, tuple[str, ...]] = {
    "messaging": ("message_received",),
    "users": ("new_relation",),
    # Unipile's default: the usual statuses except CONNECTING, OK and STOPPED.
    "account_status": (
        "creation_success",
        "creation_fail",
        "deleted",
        "reconnected",
        "sync_success",
        "error",
        "credentials",
        "permissions",
    ),
}


@dataclass(frozen=True)
class WebhookTarget:
    """Where one source's events go, and with which headers."""

    id: str
    request_url: str
    source: str  # messaging | users | account_status | "*" for every source
    name: str
    headers: tuple[tuple[str, str], ...] = ()
    events: tuple[str, ...] = ()  # empty: the source's default events
    account_ids: tuple[str, ...] = ()  # empty: every account
    enabled: bool = True
    format: str = "json"

    def wants(self, source: str, event: str, account_id: str) -> bool:
        events = self.events or DEFAULT_EVENTS.get(source, ())
        return (
            self.enabled
            and self.source in (source, "*")
            and (self.source == "*" or event in events)
            and (not self.account_ids or account_id in self.account_ids)
        )


def parse_webhook(body: dict[str, Any]) -> WebhookTarget:
    """A target from a ``POST /webhooks`` body; ``ValueError`` says what is wrong."""
    url, source = body.get("request_url"), body.get("source")
    if not isinstance(url, str) or not url or not isinstance(source, str):
        raise ValueError("request_url and source are required")
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}")
    headers = body.get("headers") or []
    if not all(isinstance(h, dict) and {"key", "value"} <= h.keys() for h in headers):
        raise ValueError("headers must be a list of {key, value}")
    webhook_id = uuid.uuid4().hex[:22]
    return WebhookTarget(
        id=webhook_id,
        request_url=url,
        source=source,
        name=str(body.get("name") or webhook_id),
        headers=tuple((str(h["key"]), str(h["value"])) for h in headers),
        events=tuple(str(event) for event in body.get("events") or ()),
        account_ids=tuple(str(account) for account in body.get("account_ids") or ()),
        enabled=bool(body.get("enabled", True)),
        format=str(body.get("format") or "json"),
    )


class WebhookRegistry:
    """The start-up target plus the webhooks registered through the API."""

    def __init__(self, static: Sequence[WebhookTarget] = ()) -> None:
        self._static = list(static)
        self._registered: dict[str, WebhookTarget] = {}
        self._lock = threading.Lock()

    def add(self, target: WebhookTarget) -> None:
        with self._lock:
            self._registered[target.id] = target

    def remove(self, webhook_id: str) -> bool:
        with self._lock:
            return self._registered.pop(webhook_id, None) is not None

    def registered(self) -> list[WebhookTarget]:
        with self._lock:
            return list(self._registered.values())

    def targets(self, source: str, event: str, account_id: str) -> list[WebhookTarget]:
        everything = self._static + self.registered()
        return [target for target in everything if target.wants(source, event, account_id)]


def startup_target(url: str, secret: str | None) -> WebhookTarget:
    """The ``--webhook-url`` target: every source, JSON, authenticated by ``Unipile-Auth``."""
    headers = [("Content-Type", "application/json")]
    if secret:
        headers.append(("Unipile-Auth", secret))
    return WebhookTarget(
        id="startup", request_url=url, source="*", name="outreach-sandbox", headers=tuple(headers)
    )


@dataclass(order=True)
class _Delivery:
    due: float
    seq: int
    target: WebhookTarget = field(compare=False)
    body: bytes = field(compare=False)
    attempt: int = field(default=0, compare=False)


class WebhookDispatcher:
    """Turns the simulator's due events into webhook deliveries, with retries."""

    def __init__(
        self,
        simulator: Simulator,
        registry: WebhookRegistry,
        *,
        account_ids: Sequence[str],
        new_relation_delay: timedelta = timedelta(0),
        retry_delays: Sequence[float] = RETRY_DELAYS,
        poll_interval: float = 0.2,
        timeout: float = 10.0,
    ) -> None:
        self.simulator = simulator
        self.registry = registry
        self._accounts = list(account_ids)
        self._relation_delay = new_relation_delay
        self._retry_delays = list(retry_delays)
        self._poll_interval = poll_interval
        self._http = httpx.Client(timeout=timeout)
        self._queue: list[_Delivery] = []
        self._seq = itertools.count()
        self._statuses = {account: simulator.status(account) for account in self._accounts}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="fake-unipile-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._http.close()

    def _run(self) -> None:
        while not self._stop.wait(self._poll_interval):
            try:
                self.run_once()
            except Exception:  # a failed round must not end the thread: log, try again
                logger.exception("fake Unipile: webhook round failed")

    def run_once(self) -> None:
        """One round: collect what became due, then send what is due to be sent."""
        self._collect_status_changes()
        self._collect_messages()
        self._collect_relations()
        self._send_due()

    def _collect_status_changes(self) -> None:
        """Account status webhooks fire on real transitions only, as Unipile's do."""
        for account in self._accounts:
            state, before = self.simulator.status(account), self._statuses.get(account)
            self._statuses[account] = state
            if state is before:
                continue
            if state is AccountState.CREDENTIALS:
                message = "CREDENTIALS"
            elif before is AccountState.CREDENTIALS and state is AccountState.OK:
                message = "RECONNECTED"
            else:
                continue
            for target in self.registry.targets("account_status", message.lower(), account):
                self._enqueue(target, payloads.account_status_event(account, message))

    def _collect_messages(self) -> None:
        """Messages both ways; none for a disconnected account until it reconnects.

        A message that falls due while no webhook wants it is not replayed to webhooks
        registered later: Unipile sends no webhooks for history either.
        """
        disconnected = [a for a, s in self._statuses.items() if s is AccountState.CREDENTIALS]
        due = self.simulator.due_messages(exclude=disconnected)
        for record in due:
            own = self.simulator.person(own_provider_id(record.account))
            other = self.simulator.person(record.provider_id)
            for target in self.registry.targets("messaging", "message_received", record.account):
                self._enqueue(target, payloads.message_event(record, own, other, target.name))
        self.simulator.mark_delivered(record.message_id for record in due)

    def _collect_relations(self) -> None:
        due = self.simulator.due_acceptances(delay=self._relation_delay)
        for acceptance in due:
            person = self.simulator.person(acceptance.provider_id)
            for target in self.registry.targets("users", "new_relation", acceptance.account):
                self._enqueue(target, payloads.relation_event(acceptance, person, target.name))
        self.simulator.mark_announced(acceptance.invitation_id for acceptance in due)

    def _enqueue(self, target: WebhookTarget, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        heapq.heappush(self._queue, _Delivery(time.monotonic(), next(self._seq), target, body))

    def _send_due(self) -> None:
        now, ready = time.monotonic(), []
        while self._queue and self._queue[0].due <= now:
            ready.append(heapq.heappop(self._queue))
        for delivery in ready:
            if self._post(delivery):
                continue
            if delivery.attempt < len(self._retry_delays):
                delivery.due = time.monotonic() + self._retry_delays[delivery.attempt]
                delivery.attempt += 1
                heapq.heappush(self._queue, delivery)
            else:
                logger.warning("fake Unipile: webhook to %s dropped", delivery.target.request_url)

    def _post(self, delivery: _Delivery) -> bool:
        """One attempt; True when the target answered 2xx."""
        target = delivery.target
        try:
            response = self._http.post(
                target.request_url, content=delivery.body, headers=list(target.headers)
            )
        except httpx.HTTPError as exc:
            logger.info("fake Unipile: webhook to %s failed: %s", target.request_url, exc)
            return False
        return response.is_success

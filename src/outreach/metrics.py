"""``/metrics`` for Prometheus (prometheus-client).

Two kinds of figures. What the database knows is read at scrape time, so every worker
and server answers the same: stages waiting, due, running and late (due more than
``OUTREACH_LATE_AFTER_MINUTES`` simulated minutes ago and not started), journeys per
state, and the actions each sender performed, per kind. What happens in a process is
counted as it happens: stages run per outcome, provider errors per handling and code,
webhook deliveries per outcome. Each query uses an index (journeys by status, by due
time; sender actions by sender, kind and time).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from outreach.journeys import tallies
from outreach.models import TERMINAL_STATUSES, Account, Journey, SenderAction

if TYPE_CHECKING:
    from outreach.runtime import Runtime

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

EVENTS = CollectorRegistry(auto_describe=True)
STAGES_RUN = Counter(
    "outreach_stages_run",
    "Stages run by this process, per stage kind and outcome.",
    ["stage", "outcome"],
    registry=EVENTS,
)
PROVIDER_ERRORS = Counter(
    "outreach_provider_errors",
    "LinkedIn provider errors met by stages in this process, per handling and code.",
    ["handling", "code"],
    registry=EVENTS,
)
WEBHOOK_DELIVERIES = Counter(
    "outreach_webhook_deliveries",
    "Webhook deliveries stored or processed by this process, per final outcome.",
    ["outcome"],
    registry=EVENTS,
)


class DatabaseCollector(Collector):
    """The figures the database holds, read when Prometheus scrapes."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def collect(self) -> Iterator[Metric]:
        rt = self.rt
        now = rt.clock.now()
        late_before = now - timedelta(minutes=rt.settings.late_after_minutes)
        open_ = Journey.status.not_in(TERMINAL_STATUSES)
        staged = sa.and_(open_, Journey.stage.is_not(None), Journey.held.is_(False))
        with rt.sessions() as session:
            due, late, waiting, held = session.execute(
                sa.select(
                    sa.func.count().filter(staged, Journey.next_run_at <= now),
                    sa.func.count().filter(staged, Journey.next_run_at <= late_before),
                    sa.func.count().filter(staged, Journey.next_run_at > now),
                    sa.func.count().filter(open_, Journey.held.is_(True)),
                ).select_from(Journey)
            ).one()
            running = session.execute(
                sa.select(sa.func.count()).where(Account.busy_journey_id.is_not(None))
            ).scalar_one()
            states = tallies.total(session).per_status.items()
            actions = session.execute(
                sa.select(SenderAction.account_id, SenderAction.kind, sa.func.count()).group_by(
                    SenderAction.account_id, SenderAction.kind
                )
            ).all()
            names = dict(session.execute(sa.select(Account.id, Account.name)).all())
        stages = GaugeMetricFamily(
            "outreach_stages", "Journeys' next stages, by where they stand.", labels=["state"]
        )
        for label, value in (
            ("waiting", waiting),
            ("due", due),
            ("running", running),
            ("late", late),
            ("held", held),
        ):
            stages.add_metric([label], value)
        yield stages
        journeys = GaugeMetricFamily("outreach_journeys", "Journeys per state.", labels=["status"])
        for status, count in states:
            journeys.add_metric([status.value], count)
        yield journeys
        performed = CounterMetricFamily(
            "outreach_sender_actions",
            "Actions each sender performed on LinkedIn, per kind.",
            labels=["sender_id", "sender", "kind"],
        )
        for account_id, kind, count in actions:
            performed.add_metric([str(account_id), names.get(account_id, ""), kind], count)
        yield performed


def exposition(rt: Runtime) -> bytes:
    """The text Prometheus scrapes: the database's figures, then this process's."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(rt))
    return generate_latest(registry) + generate_latest(EVENTS)

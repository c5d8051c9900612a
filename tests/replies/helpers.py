"""What the reply agent's tests share: a journey whose prospect replied, its drafts, and
what the simulator received."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from outreach.models import Account, DraftStatus, Journey, ReplyDraft
from outreach.runtime import Runtime
from outreach.testing import find_people, launch, new_campaign, started, test_settings, wait_until


def keen(rt: Runtime, n: int = 1, prefix: str = "k") -> list[Any]:
    return find_people(
        rt,
        n,
        lambda p: (
            p.accepts and p.replies_after == 1 and p.reply_text.startswith("Sure, let's talk")
        ),
        prefix=prefix,
    )


def drafts_of(rt: Runtime, journey_id: int) -> list[ReplyDraft]:
    with rt.sessions() as session:
        return list(
            session.scalars(
                sa.select(ReplyDraft)
                .where(ReplyDraft.journey_id == journey_id)
                .order_by(ReplyDraft.id)
            )
        )


def pending(rt: Runtime, journey_id: int) -> ReplyDraft | None:
    found = [d for d in drafts_of(rt, journey_id) if d.status is DraftStatus.PENDING]
    return found[-1] if found else None


def messages_to(rt: Runtime, journey_id: int) -> list[str]:
    """The texts the simulator received for this journey's prospect (its own record)."""
    assert rt.simulator is not None
    with rt.sessions() as session:
        journey = session.get(Journey, journey_id)
        assert journey is not None
        slug = journey.prospect.public_identifier
    return [
        e["text"]
        for e in rt.simulator.log()
        if e["kind"] == "message" and e["public_identifier"] == slug
    ]


@contextmanager
def replied(
    database_url: str, campaign: dict[str, Any] | None = None, **overrides: Any
) -> Iterator[tuple[Runtime, int, ReplyDraft]]:
    """A runtime, a journey whose prospect replied "yes", and the draft that waits."""
    with started(test_settings(database_url, **overrides)) as rt:
        campaign_id = new_campaign(rt, keen(rt), **(campaign or {}))
        assert launch(rt, campaign_id) == 1
        with rt.sessions() as session:
            journey_id = session.execute(
                sa.select(Journey.id).where(Journey.campaign_id == campaign_id)
            ).scalar_one()
        draft = wait_until(lambda: pending(rt, journey_id), timeout=90, what="a draft")
        yield rt, journey_id, draft


def account_of(rt: Runtime, account_id: int) -> str:
    with rt.sessions() as session:
        account = session.get(Account, account_id)
        assert account is not None
        return account.external_id


def reply(rt: Runtime, journey_id: int, text: str) -> None:
    """The journey's prospect writes ``text`` to its sender, in the simulator."""
    assert rt.simulator is not None
    with rt.sessions() as session:
        journey = session.get(Journey, journey_id)
        assert journey is not None and journey.prospect.provider_id is not None
        provider_id, account_id = journey.prospect.provider_id, journey.account_id
    rt.simulator.reply(account_of(rt, account_id), provider_id, text)


def next_draft(rt: Runtime, journey_id: int, after: int) -> ReplyDraft:
    """The first draft of this journey newer than draft ``after``."""
    return wait_until(
        lambda: next((d for d in drafts_of(rt, journey_id) if d.id > after), None),
        timeout=60,
        what="a new draft",
    )

"""A campaign's forecast: when each step is expected, how long it takes, the load per sender.

A dry run (``accounts.simulate``) of the same governor that sends: every sender of the
campaign with its policy and this week's history, every journey waiting for those senders
(this campaign's and the others that share them), and this campaign's pending prospects
as if launched now, each given a sender by the same rotation as a launch. It assumes the
longest path, every prospect accepting and nobody replying, so what really happens comes
at or before it. Nothing is written and nothing is sent.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from outreach.accounts import pacing
from outreach.accounts.repository import get_account
from outreach.accounts.simulate import Path, daily_load, simulate
from outreach.campaigns.rotation import assign_senders
from outreach.campaigns.sequence import SequenceSpec, Stage, StageRef
from outreach.campaigns.service import get_campaign
from outreach.models import TERMINAL_STATUSES, Campaign, CampaignStatus, Journey, Prospect
from outreach.prospects.repository import pending_prospects

HORIZON = timedelta(days=400)
SHOWN = 500  # prospects listed one by one; the totals count them all


class ForecastStep(BaseModel):
    stage: str
    at: datetime


class ProspectForecast(BaseModel):
    prospect_id: int
    public_identifier: str
    sender_id: int
    steps: list[ForecastStep]


class SenderForecast(BaseModel):
    sender_id: int
    days: dict[str, dict[str, int]] = Field(
        description="Per local day, how many invitations, messages and views it would send."
    )
    busiest_day: dict[str, int]


class Forecast(BaseModel):
    campaign_id: int
    computed_at: datetime
    assumption: str = "every prospect accepts and nobody replies: the longest path"
    prospects: int
    first_action_at: datetime | None
    last_action_at: datetime | None
    days: float | None = Field(description="From now until the campaign's last action.")
    invitations_done_at: datetime | None
    per_prospect: list[ProspectForecast]
    senders: list[SenderForecast]


def forecast(session: Session, campaign_id: int, now: datetime) -> Forecast:
    campaign = get_campaign(session, campaign_id)
    senders = {sid: get_account(session, sid) for sid in campaign.account_ids}
    policies = {sid: pacing.policy(account) for sid, account in senders.items()}
    history = {sid: pacing.history(session, account, now) for sid, account in senders.items()}
    paths, specs, identity = _waiting(session, list(senders), now)
    pending = pending_prospects(session, campaign_id)
    if pending:
        loads = [pacing.capacity(session, account, now) for account in senders.values()]
        assigned = assign_senders(len(pending), loads)
        for offset, (pid, sender) in enumerate(zip(pending, assigned, strict=True)):
            key = offset - len(pending) - 1  # not a journey yet: before the others, in order
            paths.append(Path(key, campaign.id, sender, StageRef(Stage.INVITE), now))
            identity[key] = pid
        specs[campaign.id] = SequenceSpec.model_validate(campaign.sequence)
    happened = simulate(policies, paths, specs, start=now, until=now + HORIZON, history=history)
    mine = [h for h in happened if h.campaign == campaign.id]
    steps: dict[int, list[ForecastStep]] = defaultdict(list)
    sender_of: dict[int, int] = {}
    for item in mine:
        steps[item.key].append(ForecastStep(stage=item.stage, at=item.at))
        sender_of[item.key] = item.sender
    names = _identifiers(session, [identity[k] for k in steps][:SHOWN])
    per_prospect = [
        ProspectForecast(
            prospect_id=identity[key],
            public_identifier=names.get(identity[key], ""),
            sender_id=sender_of[key],
            steps=steps[key],
        )
        for key in list(steps)[:SHOWN]
    ]
    per_day = daily_load(happened, policies)
    last = max((h.at for h in mine), default=None)
    invites = [h.at for h in mine if h.stage == "invite"]
    return Forecast(
        campaign_id=campaign.id,
        computed_at=now,
        prospects=len({identity[k] for k in steps}),
        first_action_at=min((h.at for h in mine), default=None),
        last_action_at=last,
        days=None if last is None else round((last - now) / timedelta(days=1), 2),
        invitations_done_at=max(invites, default=None),
        per_prospect=per_prospect,
        senders=[
            SenderForecast(
                sender_id=sid,
                days=per_day.get(sid, {}),
                busiest_day=_busiest(per_day.get(sid, {})),
            )
            for sid in senders
        ],
    )


def _waiting(
    session: Session, sender_ids: list[int], now: datetime
) -> tuple[list[Path], dict[int, SequenceSpec], dict[int, int]]:
    """Every journey waiting for these senders, as a path of the dry run."""
    rows = session.execute(
        sa.select(
            Journey.id,
            Journey.campaign_id,
            Journey.account_id,
            Journey.prospect_id,
            Journey.stage,
            Journey.next_run_at,
            Journey.invited_at,
        )
        .join(Campaign, Campaign.id == Journey.campaign_id)
        .where(Journey.account_id.in_(sender_ids), Journey.held.is_(False))
        .where(Journey.status.not_in(TERMINAL_STATUSES), Journey.stage.is_not(None))
        .where(Campaign.status == CampaignStatus.ACTIVE)
    )
    paths: list[Path] = []
    specs: dict[int, SequenceSpec] = {}
    identity: dict[int, int] = {}
    for jid, campaign_id, sender, prospect_id, stage, next_run_at, invited_at in rows:
        if campaign_id not in specs:
            campaign = session.get(Campaign, campaign_id)
            assert campaign is not None
            specs[campaign_id] = SequenceSpec.model_validate(campaign.sequence)
        assert stage is not None
        due = max(next_run_at or now, now)
        ref = StageRef.parse(stage)
        paths.append(Path(jid, campaign_id, sender, ref, due, invited_at))
        identity[jid] = prospect_id
    return paths, specs, identity


def _identifiers(session: Session, prospect_ids: list[int]) -> dict[int, str]:
    rows = session.execute(
        sa.select(Prospect.id, Prospect.public_identifier).where(Prospect.id.in_(prospect_ids))
    )
    return {pid: slug for pid, slug in rows}


def _busiest(days: dict[str, dict[str, int]]) -> dict[str, int]:
    busiest: dict[str, int] = {}
    for counts in days.values():
        for action, count in counts.items():
            busiest[action] = max(busiest.get(action, 0), count)
    return busiest

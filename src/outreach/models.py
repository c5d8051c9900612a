"""ORM models, in one place. Times are simulated-clock UTC (see ``clock.py``)."""

from __future__ import annotations

import enum
from datetime import date, datetime, time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column, relationship

from outreach.db import Base

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _enum(kind: type[enum.StrEnum], length: int = 20) -> sa.Enum:
    """Stored as the lowercase values, in a VARCHAR: no native enum to migrate."""
    return sa.Enum(
        kind, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e]
    )


class AccountStatus(enum.StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"  # a person or an account-level provider error paused it
    BACKOFF = "backoff"  # a provider limit was hit: resumes by itself at paused_until


class PausedBy(enum.StrEnum):
    """Who paused a sender: a person lifts their own pause; LinkedIn's lifts with it."""

    PERSON = "person"
    PROVIDER = "provider"


class CampaignStatus(enum.StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"


class JourneyStatus(enum.StrEnum):
    SCHEDULED = "scheduled"  # waiting for its invitation slot
    INVITED = "invited"  # invitation out, waiting for the acceptance check
    CONNECTED = "connected"  # in the follow-up sequence
    REPLIED = "replied"
    NOT_ACCEPTED = "not_accepted"
    COMPLETED = "completed"
    FAILED = "failed"
    STOPPED = "stopped"  # a person stopped it

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset(
    {
        JourneyStatus.REPLIED,
        JourneyStatus.NOT_ACCEPTED,
        JourneyStatus.COMPLETED,
        JourneyStatus.FAILED,
        JourneyStatus.STOPPED,
    }
)


class ReplyIntent(enum.StrEnum):
    """What a reply means, as a person (or, later, the reply agent) reads it."""

    INTERESTED = "interested"
    QUESTION = "question"
    LATER = "later"  # not now
    NOT_INTERESTED = "not_interested"
    OUT_OF_OFFICE = "out_of_office"
    REFERRAL = "referral"
    UNSUBSCRIBE = "unsubscribe"
    WRONG_PERSON = "wrong_person"
    OTHER = "other"


class EventKind(enum.StrEnum):
    """What a journey's timeline records."""

    SCHEDULED = "scheduled"
    INVITATION_SENT = "invitation_sent"
    ALREADY_CONNECTED = "already_connected"
    INVITATION_ACCEPTED = "invitation_accepted"
    MESSAGE_SENT = "message_sent"
    REPLY_RECEIVED = "reply_received"
    NOT_ACCEPTED = "not_accepted"
    COMPLETED = "completed"
    FAILED = "failed"
    STOPPED = "stopped"
    ERROR = "error"
    HELD = "held"
    RESUMED = "resumed"
    REPLANNED = "replanned"  # a stage moved to a later time (working hours, back-off)
    REPAIRED = "repaired"  # the sweep found the stage with no live workflow and re-ran it
    INVITATION_WITHDRAWN = "invitation_withdrawn"  # unanswered for days: taken back
    REPLY_MARKED = "reply_marked"  # a person said what the reply means (its intent)
    # The reply agent's answer: drafted, decided by a person, sent once.
    DRAFT_READY = "draft_ready"
    DRAFT_SUPERSEDED = "draft_superseded"  # a newer reply came before it was sent
    DRAFT_REJECTED = "draft_rejected"
    DRAFT_EXPIRED = "draft_expired"
    ANSWER_APPROVED = "answer_approved"
    ANSWER_SENT = "answer_sent"
    ANSWER_FAILED = "answer_failed"
    # An out-of-office reply with a return date: the sequence waits until then.
    WAITING_FOR_RETURN = "waiting_for_return"


class ClockState(Base):
    """The persisted anchor of the simulated clock: one row."""

    __tablename__ = "clock_state"
    id: Mapped[int] = mapped_column(primary_key=True)
    real_anchor: Mapped[float] = mapped_column(sa.Float)
    sim_anchor: Mapped[float] = mapped_column(sa.Float)
    scale: Mapped[float] = mapped_column(sa.Float)
    # Under a compressed clock, the simulated time it does not pass: the work due first.
    gate: Mapped[float | None] = mapped_column(sa.Float)


class Account(Base):
    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    provider: Mapped[str] = mapped_column(sa.String(20))  # sandbox | unipile
    external_id: Mapped[str] = mapped_column(sa.String(200), unique=True)
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    work_start: Mapped[time] = mapped_column(sa.Time, default=time(9, 0))
    work_end: Mapped[time] = mapped_column(sa.Time, default=time(18, 0))
    work_days: Mapped[str] = mapped_column(sa.String(20), default="0,1,2,3,4")  # Monday = 0
    daily_invite_cap: Mapped[int] = mapped_column(default=25)
    weekly_invite_cap: Mapped[int] = mapped_column(default=100)
    daily_message_cap: Mapped[int] = mapped_column(default=80)
    weekly_message_cap: Mapped[int] = mapped_column(default=400, server_default="400")
    daily_view_cap: Mapped[int] = mapped_column(default=150, server_default="150")
    weekly_view_cap: Mapped[int] = mapped_column(default=700, server_default="700")
    invite_gap_min_s: Mapped[int] = mapped_column(default=18 * 60)
    invite_gap_max_s: Mapped[int] = mapped_column(default=23 * 60)
    message_gap_min_s: Mapped[int] = mapped_column(default=3 * 60, server_default="180")
    message_gap_max_s: Mapped[int] = mapped_column(default=7 * 60, server_default="420")
    # Warm-up: from ``warmup_since`` the daily invitation cap rises from ``warmup_start``
    # to the full cap over ``warmup_days`` days (0: no warm-up).
    warmup_days: Mapped[int] = mapped_column(default=0, server_default="0")
    warmup_start: Mapped[int] = mapped_column(default=5, server_default="5")
    warmup_since: Mapped[date | None]
    # Invitations still pending this many days after they were sent are withdrawn.
    withdraw_after_days: Mapped[int] = mapped_column(default=21, server_default="21")
    # The governor's state: when to look at this sender again, and the one stage it
    # runs right now (a sender does one thing at a time).
    next_action_at: Mapped[datetime | None] = mapped_column(index=True)
    busy_journey_id: Mapped[int | None]
    busy_since: Mapped[datetime | None]
    status: Mapped[AccountStatus] = mapped_column(
        _enum(AccountStatus), default=AccountStatus.ACTIVE
    )
    status_reason: Mapped[str | None] = mapped_column(sa.Text)
    paused_by: Mapped[PausedBy | None] = mapped_column(_enum(PausedBy))
    paused_until: Mapped[datetime | None]
    # How many times it was resumed: the business key of each resume's workflow.
    resumes: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime]


class Campaign(Base):
    __tablename__ = "campaigns"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"))
    status: Mapped[CampaignStatus] = mapped_column(
        _enum(CampaignStatus), default=CampaignStatus.DRAFT
    )
    sequence: Mapped[dict[str, Any]] = mapped_column(JSON)
    templates: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    launched_at: Mapped[datetime | None]
    # How many times its pending prospects were asked to be scheduled (launch, import,
    # resume): the business key of each such workflow.
    schedule_runs: Mapped[int] = mapped_column(default=0, server_default="0")
    # Each save of the sequence or its texts is a new version (``CampaignVersion``); a
    # stage sends what the version current when it starts says.
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    account: Mapped[Account] = relationship(lazy="joined")
    senders: Mapped[list[CampaignSender]] = relationship(
        lazy="selectin", order_by="CampaignSender.position", cascade="all, delete-orphan"
    )

    @property
    def account_ids(self) -> list[int]:
        return [s.account_id for s in self.senders] or [self.account_id]


class CampaignVersion(Base):
    """The sequence and texts of a campaign as one save left them: what a version sent."""

    __tablename__ = "campaign_versions"
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id"), primary_key=True)
    version: Mapped[int] = mapped_column(primary_key=True)
    sequence: Mapped[dict[str, Any]] = mapped_column(JSON)
    templates: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    # Who saved it: a username, or "api key" / "cli"; None for the first version.
    saved_by: Mapped[str | None] = mapped_column(sa.String(100))


class CampaignSender(Base):
    """A sender account of a campaign; ``account_id`` of the campaign is the first one."""

    __tablename__ = "campaign_senders"
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id"), primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"), primary_key=True)
    position: Mapped[int] = mapped_column(default=0)


class Prospect(Base):
    __tablename__ = "prospects"
    __table_args__ = (sa.UniqueConstraint("campaign_id", "public_identifier"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id"), index=True)
    public_identifier: Mapped[str] = mapped_column(sa.String(200))
    profile_url: Mapped[str | None] = mapped_column(sa.String(500))
    provider_id: Mapped[str | None] = mapped_column(sa.String(200), index=True)
    first_name: Mapped[str | None] = mapped_column(sa.String(200))
    last_name: Mapped[str | None] = mapped_column(sa.String(200))
    company: Mapped[str | None] = mapped_column(sa.String(200))
    title: Mapped[str | None] = mapped_column(sa.String(300))
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]


# A journey the errors page lists (failed, or met an error), as its partial index says it:
# the query repeats it term for term, so SQLite's planner sees that the index applies.
TROUBLED = "status = 'failed' OR last_error IS NOT NULL"
TROUBLED_JOURNEYS = "(journeys.status = 'failed' OR journeys.last_error IS NOT NULL)"


class Journey(Base):
    """One prospect's way through one campaign; at most one per pair, ever."""

    __tablename__ = "journeys"
    __table_args__ = (
        sa.UniqueConstraint("campaign_id", "prospect_id"),
        sa.Index("ix_journeys_campaign_status", "campaign_id", "status"),
        sa.Index("ix_journeys_sender_due", "account_id", "next_run_at"),
        # Covering indexes of the funnels (analytics): per campaign, per sender.
        sa.Index(
            "ix_journeys_campaign_funnel", "campaign_id", "invited_at", "accepted_at", "replied_at"
        ),
        sa.Index(
            "ix_journeys_sender_funnel", "account_id", "invited_at", "accepted_at", "replied_at"
        ),
        # The notification area: failed journeys by when they ended, replies by when.
        sa.Index("ix_journeys_status_ended", "status", "ended_at"),
        sa.Index("ix_journeys_replied_at", "replied_at"),
        # Held journeys per campaign; a sender's invitations waiting to be withdrawn.
        sa.Index(
            "ix_journeys_held",
            "campaign_id",
            sqlite_where=sa.text("held = 1"),
            postgresql_where=sa.text("held"),
        ),
        sa.Index(
            "ix_journeys_sender_withdraw",
            "account_id",
            sqlite_where=sa.text("stage = 'withdraw'"),
            postgresql_where=sa.text("stage = 'withdraw'"),
        ),
        # The errors page: failed journeys and those that met an error, newest first.
        sa.Index(
            "ix_journeys_troubled",
            "updated_at",
            "id",
            sqlite_where=sa.text(TROUBLED),
            postgresql_where=sa.text(TROUBLED),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id"))
    prospect_id: Mapped[int] = mapped_column(sa.ForeignKey("prospects.id"))
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    status: Mapped[JourneyStatus] = mapped_column(
        _enum(JourneyStatus), default=JourneyStatus.SCHEDULED
    )
    # The stage that runs next ("invite", "check_acceptance", "follow_up:N"), when, and
    # the counter that makes each scheduling of it a distinct workflow id.
    stage: Mapped[str | None] = mapped_column(sa.String(40))
    stage_seq: Mapped[int] = mapped_column(default=0)
    next_run_at: Mapped[datetime | None] = mapped_column(index=True)
    waiting_for: Mapped[str | None] = mapped_column(sa.Text)
    # Held: its campaign or sender is paused; ``stage`` resumes when they do.
    held: Mapped[bool] = mapped_column(default=False)
    # The prospect is away until then (an out-of-office reply): no stage runs before it.
    not_before: Mapped[datetime | None]
    invited_at: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    replied_at: Mapped[datetime | None]
    # What the reply means; "interested" is the funnel's positive step.
    reply_intent: Mapped[ReplyIntent | None] = mapped_column(_enum(ReplyIntent))
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(sa.Text)
    follow_ups_sent: Mapped[int] = mapped_column(default=0)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    prospect: Mapped[Prospect] = relationship(lazy="joined")


class JourneyTally(Base):
    """Maintained counts of journeys and prospects, as signed deltas.

    The database writes them: triggers on ``journeys`` and ``prospects`` (migration 0009)
    add a row for each journey that appears, changes state, sender or milestone, or goes
    (-1 for what it was, +1 for what it is), and for each prospect added or removed. A
    sum over the rows of a campaign (or a sender) is its counts; ``tallies.compact``
    folds the rows into one per (campaign, sender, state) now and then. Rows are only
    ever inserted by writers and deleted by the compaction, so no writer waits for another.
    """

    __tablename__ = "journey_tallies"
    __table_args__ = (sa.Index("ix_journey_tallies_account", "account_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(index=True)
    account_id: Mapped[int | None]  # None: a prospect's row
    status: Mapped[str | None] = mapped_column(sa.String(20))  # None: a prospect's row
    journeys: Mapped[int] = mapped_column(default=0)
    invited: Mapped[int] = mapped_column(default=0)
    accepted: Mapped[int] = mapped_column(default=0)
    replied: Mapped[int] = mapped_column(default=0)
    positive: Mapped[int] = mapped_column(default=0)  # replies marked interested
    held: Mapped[int] = mapped_column(default=0)
    prospects: Mapped[int] = mapped_column(default=0)


class JourneyEvent(Base):
    """Append-only timeline of a journey."""

    __tablename__ = "journey_events"
    __table_args__ = (sa.Index("ix_journey_events_kind_at", "kind", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    journey_id: Mapped[int] = mapped_column(sa.ForeignKey("journeys.id"), index=True)
    at: Mapped[datetime]
    kind: Mapped[EventKind] = mapped_column(_enum(EventKind, length=40))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class SenderAction(Base):
    """An action a sender performed: what its governor counts caps and gaps from."""

    __tablename__ = "sender_actions"
    __table_args__ = (
        sa.Index("ix_sender_actions_account_kind_at", "account_id", "kind", "at"),
        sa.Index("ix_sender_actions_campaign_kind_at", "campaign_id", "kind", "at"),
        sa.Index("ix_sender_actions_kind_at", "kind", "at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"))
    kind: Mapped[str] = mapped_column(sa.String(20))  # invitation | message | view
    at: Mapped[datetime]
    journey_id: Mapped[int | None] = mapped_column(sa.ForeignKey("journeys.id"))
    campaign_id: Mapped[int | None] = mapped_column(sa.ForeignKey("campaigns.id"))


class InboundMessage(Base):
    """A reply from a prospect, stored once per provider message id."""

    __tablename__ = "inbound_messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(sa.String(200), unique=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"))
    journey_id: Mapped[int | None] = mapped_column(sa.ForeignKey("journeys.id"), index=True)
    sender_provider_id: Mapped[str] = mapped_column(sa.String(200))
    text: Mapped[str] = mapped_column(sa.Text)
    at: Mapped[datetime]
    source: Mapped[str] = mapped_column(sa.String(20))  # webhook | poll | sandbox


class DraftStatus(enum.StrEnum):
    """Where an answer to a reply is: waiting for a person is this row, no workflow."""

    PENDING = "pending"  # drafted, waiting for a person's decision
    APPROVED = "approved"  # a person approved it; its send workflow runs
    SENT = "sent"  # the provider took it
    MARKED_SENT = "marked_sent"  # a person sent it by hand (draft-only mode) and said so
    REJECTED = "rejected"
    EXPIRED = "expired"  # nobody decided in time
    SUPERSEDED = "superseded"  # a newer reply came before it went out
    FAILED = "failed"  # the provider refused it (the error says why)

    @property
    def is_open(self) -> bool:
        return self in (DraftStatus.PENDING, DraftStatus.APPROVED)


class ReplyDraft(Base):
    """The reply agent's answer to one reply (one per conversation turn), and its fate.

    ``created_at`` and the other moments are simulated time; ``expires_at`` is wall-clock
    UTC, as a person's deadline is (under a compressed clock, 72 hours would be seconds).
    """

    __tablename__ = "reply_drafts"
    __table_args__ = (sa.Index("ix_reply_drafts_status_expires", "status", "expires_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    journey_id: Mapped[int] = mapped_column(sa.ForeignKey("journeys.id"), index=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"))
    # The reply it answers: one draft per inbound message.
    inbound_id: Mapped[int] = mapped_column(sa.ForeignKey("inbound_messages.id"), unique=True)
    intent: Mapped[ReplyIntent] = mapped_column(_enum(ReplyIntent))
    text: Mapped[str] = mapped_column(sa.Text)  # what the agent proposed
    # What a person approved (the draft, edited, or their own words) and what went out.
    answer: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[DraftStatus] = mapped_column(_enum(DraftStatus), default=DraftStatus.PENDING)
    # Who drafted it and how: drafter, classifier, confidence, prompt version, model, cost.
    provenance: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]  # wall clock
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(sa.String(100))
    sent_at: Mapped[datetime | None]
    sent_message_id: Mapped[str | None] = mapped_column(sa.String(200))
    error: Mapped[str | None] = mapped_column(sa.Text)
    notified_at: Mapped[datetime | None]
    notify_error: Mapped[str | None] = mapped_column(sa.Text)


class ConversationRead(Base):
    """How far a person has read a conversation: the newest reply they were shown.

    A reply with a larger id is unread. ``read_at`` is wall-clock UTC.
    """

    __tablename__ = "conversation_reads"
    journey_id: Mapped[int] = mapped_column(sa.ForeignKey("journeys.id"), primary_key=True)
    inbound_id: Mapped[int]
    read_at: Mapped[datetime]
    read_by: Mapped[str | None] = mapped_column(sa.String(100))


class ModelCall(Base):
    """One call of the reply agent to a language model: tokens, cost, what came back.

    ``at`` is wall-clock UTC, as the money is: the day's spend is capped on it.
    """

    __tablename__ = "model_calls"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    inbound_id: Mapped[int | None] = mapped_column(sa.ForeignKey("inbound_messages.id"))
    provider: Mapped[str] = mapped_column(sa.String(20))
    model: Mapped[str] = mapped_column(sa.String(100))
    prompt_version: Mapped[str] = mapped_column(sa.String(40))
    input_tokens: Mapped[int] = mapped_column(default=0)
    output_tokens: Mapped[int] = mapped_column(default=0)
    cost_usd: Mapped[float] = mapped_column(default=0.0)
    outcome: Mapped[str] = mapped_column(sa.String(20))  # ok | malformed | failed
    error: Mapped[str | None] = mapped_column(sa.Text)


class WebhookDelivery(Base):
    """Every webhook we received, kept for inspection, with what became of it.

    Stored and answered first (``received``), processed after (``replies.intake``): one row
    per event holds its ``dedupe_key``; a delivery of it again is kept without one, as
    ``duplicate``."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.Index("ix_webhook_deliveries_dedupe", "source", "dedupe_key", unique=True),
        sa.Index(
            "ix_webhook_deliveries_received",
            "id",
            sqlite_where=sa.text("outcome = 'received'"),
            postgresql_where=sa.text("outcome = 'received'"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(sa.String(20))  # unipile
    event: Mapped[str | None] = mapped_column(sa.String(60))
    # received (waiting to be processed) | processed | duplicate | ignored | rejected | failed
    outcome: Mapped[str] = mapped_column(sa.String(20))
    error: Mapped[str | None] = mapped_column(sa.Text)
    payload: Mapped[str] = mapped_column(sa.Text)  # raw body as received
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(300))  # message_received:<id>…
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    processed_at: Mapped[datetime | None]


class DoNotContactKind(enum.StrEnum):
    PERSON = "person"  # value: the person's key (``prospects.identity.person_key``)
    COMPANY = "company"  # value: the case-folded name (``identity.company_key``)
    DOMAIN = "domain"  # value: the bare domain, covering its subdomains (``identity.domain_key``)


class DoNotContactSource(enum.StrEnum):
    """Who put an entry on the list."""

    PERSON = "person"  # the dashboard or the CLI
    IMPORT = "import"
    REPLY_AGENT = "reply_agent"
    API = "api"


class DoNotContact(Base):
    """Someone never to contact, in any campaign: a person, everyone at a company or a domain."""

    __tablename__ = "do_not_contact"
    __table_args__ = (sa.UniqueConstraint("kind", "value"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[DoNotContactKind] = mapped_column(_enum(DoNotContactKind))
    value: Mapped[str] = mapped_column(sa.String(300))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    source: Mapped[DoNotContactSource] = mapped_column(_enum(DoNotContactSource))
    created_at: Mapped[datetime]


# Who else has this person (an import's cross-campaign check) looks prospects up by slug.
sa.Index("ix_prospects_public_identifier", Prospect.public_identifier)


# -- people who use Outreach --------------------------------------------------------------
# Their times are real wall-clock UTC, not the simulated clock: a session expires in
# hours of the operator's day, whatever the time scale.


class Role(enum.StrEnum):
    ADMIN = "admin"  # everything, including users and everyone's API keys
    MEMBER = "member"  # campaigns, senders, prospects, the list; their own API keys


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[Role] = mapped_column(_enum(Role))
    created_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None]


class UserSession(Base):
    """A dashboard login. The cookie holds a random token; only its SHA-256 is stored,
    so a copy of the database opens no session. Logout deletes the row."""

    __tablename__ = "user_sessions"
    token_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class ApiKey(Base):
    """A user's API key: shown once when created, stored as its SHA-256 (the key is 256
    random bits, so a fast hash is as strong as a slow one); listed by its prefix."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    prefix: Mapped[str] = mapped_column(sa.String(20))
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class Worker(Base):
    """A process that runs stages, as its heartbeat last said (wall-clock UTC).

    One silent for ``takeover_after_seconds`` is taken over: another worker claims it
    (``claimed_by``/``claimed_at``, a claim that lapses as a heartbeat does) and resumes
    its unfinished workflows; ``taken_over_at`` says that was done. Its next heartbeat,
    if it comes back, clears all three.
    """

    __tablename__ = "workers"
    executor_id: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    host: Mapped[str] = mapped_column(sa.String(200))
    pid: Mapped[int]
    started_at: Mapped[datetime]
    seen_at: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(sa.String(200))
    claimed_at: Mapped[datetime | None]
    taken_over_at: Mapped[datetime | None]


class Takeover(Base):
    """A workflow one worker resumed for another that had stopped: a step it runs again
    may have acted already, so it looks first (``workflows.acting_again``)."""

    __tablename__ = "takeovers"
    workflow_id: Mapped[str] = mapped_column(sa.String(300), primary_key=True)
    from_executor: Mapped[str] = mapped_column(sa.String(200))
    by_executor: Mapped[str] = mapped_column(sa.String(200))
    at: Mapped[datetime]

"""The simulated LinkedIn's own tables, kept apart from the journey tables.

The engine never reads these: it only sees what the simulator answers.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from outreach.db import Base


class SandboxAction(Base):
    """The simulator's own record of every action it received (not the journey tables)."""

    __tablename__ = "sandbox_actions"
    id: Mapped[int] = mapped_column(primary_key=True)
    account: Mapped[str] = mapped_column(sa.String(200), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))  # invitation | message | withdrawal
    recipient: Mapped[str] = mapped_column(sa.String(200), index=True)
    text: Mapped[str | None] = mapped_column(sa.Text)
    at: Mapped[datetime]


_OPEN_INVITATION = sa.text("withdrawn_at IS NULL")


class SandboxInvitation(Base):
    """An invitation the simulator holds: accepted once ``accept_at`` has passed.

    ``accept_at`` is fixed when it is sent (the person's delay, or never) and moved
    earlier by a forced accept; a withdrawal clears it. ``announced`` marks the
    acceptances already reported as ``new_relation`` webhooks.
    """

    __tablename__ = "sandbox_invitations"
    __table_args__ = (
        sa.Index("ix_sandbox_invitations_pair", "account", "person"),
        # One open invitation per pair: two concurrent invites cannot both insert one.
        sa.Index(
            "uq_sandbox_invitations_open",
            "account",
            "person",
            unique=True,
            sqlite_where=_OPEN_INVITATION,
            postgresql_where=_OPEN_INVITATION,
        ),
        sa.Index("ix_sandbox_invitations_due", "announced", "accept_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    account: Mapped[str] = mapped_column(sa.String(200))
    person: Mapped[str] = mapped_column(sa.String(200))  # provider id
    note: Mapped[str | None] = mapped_column(sa.Text)
    sent_at: Mapped[datetime]
    accept_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]
    announced: Mapped[bool] = mapped_column(default=False)


class SandboxMessage(Base):
    """Messages in the simulator's chats, both ways; an inbound one is visible from ``at``."""

    __tablename__ = "sandbox_messages"
    __table_args__ = (
        sa.Index("ix_sandbox_messages_pair", "account", "person"),
        sa.Index("ix_sandbox_messages_due", "delivered", "at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    account: Mapped[str] = mapped_column(sa.String(200))
    person: Mapped[str] = mapped_column(sa.String(200))  # provider id
    chat: Mapped[str] = mapped_column(sa.String(40), index=True)  # derived from the pair
    inbound: Mapped[bool]
    text: Mapped[str] = mapped_column(sa.Text)
    at: Mapped[datetime]
    delivered: Mapped[bool] = mapped_column(default=False)  # announced by a webhook

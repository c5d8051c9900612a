"""Queries on users, sessions and API keys."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from outreach.errors import NotFound
from outreach.models import ApiKey, Role, User, UserSession


def count_users(session: Session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(User)) or 0


def by_username(session: Session, username: str) -> User | None:
    return session.scalars(sa.select(User).where(User.username == username.lower())).first()


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(sa.select(User).order_by(User.id)))


def active_admins(session: Session) -> int:
    query = sa.select(sa.func.count()).where(User.role == Role.ADMIN, User.disabled_at.is_(None))
    return session.scalar(query) or 0


def session_by_hash(session: Session, token_hash: str) -> tuple[UserSession, User] | None:
    query = (
        sa.select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == token_hash)
    )
    row = session.execute(query).first()
    return None if row is None else (row[0], row[1])


def key_by_hash(session: Session, key_hash: str) -> tuple[ApiKey, User] | None:
    query = (
        sa.select(ApiKey, User)
        .join(User, User.id == ApiKey.user_id)
        .where(ApiKey.key_hash == key_hash)
    )
    row = session.execute(query).first()
    return None if row is None else (row[0], row[1])


def list_keys(session: Session, user_id: int | None) -> list[ApiKey]:
    """A user's keys (every key with ``None``), newest first."""
    query = sa.select(ApiKey).order_by(ApiKey.id.desc())
    if user_id is not None:
        query = query.where(ApiKey.user_id == user_id)
    return list(session.scalars(query))


def get_key(session: Session, key_id: int) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"no API key {key_id}")
    return key

"""What people do about access: create users, log in and out, make and revoke API keys.

Each command commits before it returns. Sessions and keys are checked here too
(``session_principal``, ``key_principal``): the web layer only carries the token.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from outreach.clock import wall_now
from outreach.errors import Conflict, Forbidden, InvalidInput, NotFound
from outreach.models import ApiKey, Role, User, UserSession
from outreach.runtime import Runtime
from outreach.uow import transaction
from outreach.users import credentials, repository
from outreach.users.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    Principal,
    UserCreate,
    UserOut,
)

FIRST_ADMIN_LOCK = 0x6F75_7472_0001  # PostgreSQL advisory lock: one first admin
TOUCH_EVERY = timedelta(minutes=5)  # how stale a session's last_seen_at may get


def _new_user(data: UserCreate, role: Role) -> User:
    password = data.password.get_secret_value()
    problem = credentials.password_problem(password, data.username)
    if problem:
        raise InvalidInput(problem, details=[f"password: {problem}"])
    return User(
        username=data.username,
        password_hash=credentials.hash_password(password),
        role=role,
        created_at=wall_now(),
    )


def create_first_admin(rt: Runtime, data: UserCreate) -> UserOut:
    """The first user, an admin; refused once anyone exists."""
    user = _new_user(data, Role.ADMIN)  # hashing outside the transaction: it takes ~50 ms
    with transaction(rt) as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(sa.select(sa.func.pg_advisory_xact_lock(FIRST_ADMIN_LOCK)))
        if repository.count_users(session):
            raise Conflict("the first admin exists already: log in, or ask an admin")
        session.add(user)
        session.flush()
        return UserOut.model_validate(user)


def create_user(rt: Runtime, by: Principal, data: UserCreate) -> UserOut:
    _admin_only(by, "create users")
    user = _new_user(data, data.role)
    with transaction(rt) as session:
        if repository.by_username(session, data.username) is not None:
            raise Conflict(f"a user named {data.username!r} exists already")
        session.add(user)
        session.flush()
        return UserOut.model_validate(user)


def has_users(rt: Runtime) -> bool:
    with rt.sessions() as session:
        return repository.count_users(session) > 0


def list_users(rt: Runtime, by: Principal) -> list[UserOut]:
    _admin_only(by, "list users")
    with rt.sessions() as session:
        return [UserOut.model_validate(u) for u in repository.list_users(session)]


def disable_user(rt: Runtime, by: Principal, user_id: int) -> UserOut:
    """Disable a user: their sessions end and their keys stop working. Not the last admin."""
    _admin_only(by, "disable users")
    with transaction(rt) as session:
        user = repository.get_user(session, user_id)
        if user.disabled_at is None:
            if user.role is Role.ADMIN and repository.active_admins(session) <= 1:
                raise Conflict("this is the last admin: make another admin first")
            user.disabled_at = wall_now()
            session.execute(sa.delete(UserSession).where(UserSession.user_id == user.id))
        return UserOut.model_validate(user)


# -- sessions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LoggedIn:
    token: str  # for the cookie; only its digest is stored
    csrf_token: str
    principal: Principal


def login(rt: Runtime, username: str, password: str) -> LoggedIn | None:
    """A new session for the right password of an enabled user, else None."""
    with rt.sessions() as session:
        user = repository.by_username(session, username)
    stored = user.password_hash if user is not None else None
    if not credentials.verify_password(stored, password) or user is None or user.disabled_at:
        return None
    token, now = credentials.new_token(), wall_now()
    settings = rt.settings
    row = UserSession(
        token_hash=credentials.digest(token),
        user_id=user.id,
        csrf_token=credentials.new_token(),
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(days=settings.session_max_days),
    )
    with transaction(rt) as session:
        session.add(row)
    return LoggedIn(token, row.csrf_token, _principal(user, "session"))


def logout(rt: Runtime, token: str) -> None:
    with transaction(rt) as session:
        digest = credentials.digest(token)
        session.execute(sa.delete(UserSession).where(UserSession.token_hash == digest))


def session_principal(rt: Runtime, token: str) -> tuple[Principal, str] | None:
    """The user of a live session and its CSRF token; an expired session is deleted."""
    if not token:
        return None
    digest, now = credentials.digest(token), wall_now()
    idle = timedelta(hours=rt.settings.session_idle_hours)
    with rt.sessions() as session:
        found = repository.session_by_hash(session, digest)
    if found is None:
        return None
    row, user = found
    if user.disabled_at is not None or now >= row.expires_at or now - row.last_seen_at >= idle:
        with transaction(rt) as session:
            session.execute(sa.delete(UserSession).where(UserSession.token_hash == digest))
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        with transaction(rt) as session:
            session.execute(
                sa.update(UserSession)
                .where(UserSession.token_hash == digest)
                .values(last_seen_at=now)
            )
    return _principal(user, "session"), row.csrf_token


def _principal(user: User, via: str) -> Principal:
    return Principal(user_id=user.id, username=user.username, role=user.role, via=via)


# -- API keys -----------------------------------------------------------------------------


def key_principal(rt: Runtime, key: str) -> Principal | None:
    """The user an API key acts for, if it is live."""
    if not key.startswith(credentials.KEY_PREFIX):
        return None
    now = wall_now()
    with rt.sessions() as session:
        found = repository.key_by_hash(session, credentials.digest(key))
    if found is None:
        return None
    row, user = found
    if row.revoked_at is not None or user.disabled_at is not None:
        return None
    if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
        with transaction(rt) as session:
            session.execute(sa.update(ApiKey).where(ApiKey.id == row.id).values(last_used_at=now))
    return _principal(user, "key")


def create_key(
    rt: Runtime, by: Principal, data: ApiKeyCreate, *, user_id: int | None = None
) -> ApiKeyCreated:
    """A new key for ``by`` (or, for an admin, for ``user_id``); the answer holds the key."""
    owner = user_id if user_id is not None else by.user_id
    if owner is None:
        raise InvalidInput("the bootstrap key belongs to no user: name the user_id to create for")
    if owner != by.user_id:
        _admin_only(by, "create keys for another user")
    key = credentials.new_api_key()
    with transaction(rt) as session:
        user = repository.get_user(session, owner)
        if user.disabled_at is not None:
            raise Conflict(f"user {user.username!r} is disabled")
        row = ApiKey(
            user_id=owner,
            name=data.name,
            prefix=key[: credentials.PREFIX_SHOWN],
            key_hash=credentials.digest(key),
            created_at=wall_now(),
        )
        session.add(row)
        session.flush()
        return ApiKeyCreated(**ApiKeyOut.model_validate(row).model_dump(), key=key)


def list_keys(rt: Runtime, by: Principal) -> list[ApiKeyOut]:
    """Your keys; every key for an admin."""
    with rt.sessions() as session:
        keys = repository.list_keys(session, None if by.is_admin else by.user_id)
        return [ApiKeyOut.model_validate(k) for k in keys]


def revoke_key(rt: Runtime, by: Principal, key_id: int) -> ApiKeyOut:
    with transaction(rt) as session:
        key = repository.get_key(session, key_id)
        if key.user_id != by.user_id and not by.is_admin:
            raise NotFound(f"no API key {key_id}")  # others' keys are not shown
        if key.revoked_at is None:
            key.revoked_at = wall_now()
        return ApiKeyOut.model_validate(key)


def _admin_only(by: Principal, what: str) -> None:
    if not by.is_admin:
        raise Forbidden(f"only an admin may {what}")

"""Passwords and tokens: how they are made, stored and checked (pure, no database).

Passwords are hashed with Argon2id (argon2-cffi's defaults, RFC 9106's low-memory
profile). Session tokens and API keys are 256 random bits, so they are stored as their
SHA-256: a slow hash adds nothing to a secret nobody can guess, and a request is checked
with one indexed lookup.
"""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD = 12
KEY_PREFIX = "ok_"  # "Outreach key": easy to spot in a config file or a secret scanner
PREFIX_SHOWN = 10  # characters of a key listed after it was created (``ok_`` + 7)

_hasher = PasswordHasher()
# Checked when a username is unknown, so that a login takes as long either way.
_DUMMY_HASH = _hasher.hash("not a password of anyone's")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; always pays for one Argon2 check."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def password_problem(password: str, username: str) -> str | None:
    """Why a password is refused, or None."""
    if len(password) < MIN_PASSWORD:
        return f"a password needs at least {MIN_PASSWORD} characters"
    if password.strip().casefold() == username.strip().casefold():
        return "a password must not be the username"
    return None


def new_token() -> str:
    """A session token (URL-safe, 256 bits)."""
    return secrets.token_urlsafe(32)


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def digest(token: str) -> str:
    """What is stored of a token or key."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()

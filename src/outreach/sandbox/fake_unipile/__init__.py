"""The simulator served as Unipile's v1 HTTP API (see ``app``)."""

from outreach.sandbox.fake_unipile.app import (
    DEFAULT_ACCOUNT_ID,
    DEFAULT_API_KEY,
    create_fake_unipile_app,
    open_simulator,
    serve,
)

__all__ = [
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_API_KEY",
    "create_fake_unipile_app",
    "open_simulator",
    "serve",
]

"""Fresh PostgreSQL databases for the benchmarks, on ``OUTREACH_TEST_PG_URL``'s server."""

from __future__ import annotations

import os
import uuid

import sqlalchemy as sa

PG_ADMIN = os.environ.get(
    "OUTREACH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def create_database() -> str:
    """A new, empty database; its URL."""
    name = f"outreach_bench_{uuid.uuid4().hex[:8]}"
    _admin(f'CREATE DATABASE "{name}"')
    return sa.make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    _admin(f'DROP DATABASE IF EXISTS "{sa.make_url(url).database}" WITH (FORCE)')


def _admin(statement: str) -> None:
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(statement)
    admin.dispose()

"""Engines and sessions. SQLite runs in WAL mode; PostgreSQL is used as configured."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import Field
from sqlalchemy import event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

MAX_ID = 2**63 - 1  # the largest id either database stores: a larger one is bad input
DbId = Annotated[int, Field(ge=1, le=MAX_ID)]


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Stores naive UTC, hands out aware UTC: the same on SQLite and PostgreSQL."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime()}


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets readers run beside the one writer; NORMAL sync is durable across process
    # crashes (only an OS crash can lose the last commits), and ~10x faster than FULL.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(conn: sa.Connection) -> None:
    # Take the write lock up front: a deferred transaction that later writes can fail
    # with "database is locked" instead of waiting on busy_timeout.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(url: str, *, pool_size: int = 10, **kwargs: Any) -> sa.Engine:
    """Our engine. A connection that cannot be had within ``pool_timeout`` raises
    ``sqlalchemy.exc.TimeoutError``, which transactions retry (``engine.tx``)."""
    kwargs.setdefault("pool_timeout", 10)
    if url.startswith("sqlite"):
        kwargs.setdefault("pool_size", pool_size)
        engine = sa.create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_size", pool_size)
    kwargs.setdefault("max_overflow", max(0, pool_size - 2))
    return sa.create_engine(url, pool_pre_ping=False, **kwargs)


def create_reader_engine(
    engine: sa.Engine, *, pool_size: int = 4, snapshot: bool = False
) -> sa.Engine:
    """An engine for reads beside ``engine``'s transactions (the clock, the pages): on
    SQLite without ``BEGIN IMMEDIATE``, so a read never waits for the one writer, or is
    it. ``snapshot``: a transaction is a deferred ``BEGIN``, so its reads see one state of
    the database (WAL: from its first read on), however many statements it makes."""
    if engine.dialect.name != "sqlite":
        return engine
    reader = sa.create_engine(
        engine.url,
        connect_args={"check_same_thread": False},
        pool_size=pool_size,
        max_overflow=2 * pool_size,
        pool_timeout=engine.pool.timeout(),  # type: ignore[attr-defined]
    )
    event.listen(reader, "connect", _sqlite_pragmas)
    if snapshot:
        event.listen(reader, "begin", _sqlite_begin_deferred)
    return reader


def _sqlite_begin_deferred(conn: sa.Connection) -> None:
    conn.exec_driver_sql("BEGIN")


def _refuse_writes(session: Session, _context: Any, _instances: Any) -> None:
    raise RuntimeError("a read session does not write: use a transaction (uow.transaction)")


def make_read_sessionmaker(engine: sa.Engine, *, pool_size: int) -> sessionmaker[Session]:
    """Sessions for pages and API reads: never blocked by the writer on SQLite (see
    ``create_reader_engine``), and never writing on either database: nothing is flushed
    on its own (a change made to an object while reading is dropped with the session),
    and a flush asked for is refused."""
    factory = sessionmaker(
        bind=create_reader_engine(engine, pool_size=pool_size, snapshot=True),
        expire_on_commit=False,
        autoflush=False,
    )
    event.listen(factory, "before_flush", _refuse_writes)
    return factory


def _dbos_sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # DBOS's own SQLite setup (implicit BEGIN IMMEDIATE before writes), plus WAL: DBOS
    # opens explicit transactions itself, so no begin hook here.
    dbapi_conn.isolation_level = "IMMEDIATE"
    dbapi_conn.execute("PRAGMA journal_mode=WAL")
    dbapi_conn.execute("PRAGMA synchronous=NORMAL")
    dbapi_conn.execute("PRAGMA busy_timeout=30000")
    dbapi_conn.execute("PRAGMA foreign_keys=ON")


def create_dbos_sqlite_engine(url: str) -> sa.Engine:
    """The engine handed to DBOS for its system tables on SQLite: WAL and synchronous=NORMAL."""
    engine = sa.create_engine(
        url, connect_args={"check_same_thread": False}, pool_size=20, max_overflow=20
    )
    event.listen(engine, "connect", _dbos_sqlite_pragmas)
    return engine


def make_sessionmaker(engine: sa.Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """The edge's unit of work: commit on success, roll back on error."""
    with factory() as session, session.begin():
        yield session

"""Alembic environment: runs on the engine handed over by ``outreach.migrations``."""

from __future__ import annotations

from alembic import context

from outreach import models  # noqa: F401  (registers every table on Base.metadata)
from outreach.db import Base, create_engine
from outreach.sandbox import models as sandbox_models  # noqa: F401

config = context.config
target_metadata = Base.metadata


def _ours(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Leave DBOS's tables (same database) alone: only our metadata is migrated."""
    return not (type_ == "table" and reflected and compare_to is None)


def run() -> None:
    engine = config.attributes.get("engine") or create_engine(
        config.get_main_option("sqlalchemy.url") or ""
    )
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            include_object=_ours,
        )
        context.run_migrations()


run()

"""Alembic migrations, shipped in the package so an installed Outreach can migrate itself."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

HERE = Path(__file__).resolve().parent


def alembic_config(engine: sa.Engine | None = None, url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def upgrade(engine: sa.Engine) -> None:
    """Bring the app tables to the latest revision (DBOS migrates its own tables)."""
    command.upgrade(alembic_config(engine), "head")

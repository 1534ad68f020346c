"""Alembic, per service: each service keeps its own history in `<service>/migrations` and its own
version table, so services can share one PostgreSQL database if an operator wants to."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

from lugx.platform.db.database import Database


def alembic_config(service: str, migrations_package: str) -> Config:
    location = resources.files(migrations_package)
    config = Config()
    config.set_main_option("script_location", str(location))
    config.attributes["service"] = service
    return config


def version_table(service: str) -> str:
    return f"alembic_version_{service}"


async def _run(
    db: Database, service: str, migrations_package: str, step: Callable[[Config], None]
) -> None:
    """Hand Alembic an open connection of the service's own engine, in one transaction."""
    config = alembic_config(service, migrations_package)

    def run(connection: Connection, *_: Any) -> None:
        config.attributes["connection"] = connection
        step(config)

    async with db.writer.begin() as connection:
        await connection.run_sync(run)


async def upgrade(db: Database, service: str, migrations_package: str, rev: str = "head") -> None:
    await _run(db, service, migrations_package, lambda config: command.upgrade(config, rev))


async def downgrade(db: Database, service: str, migrations_package: str, rev: str) -> None:
    await _run(db, service, migrations_package, lambda config: command.downgrade(config, rev))

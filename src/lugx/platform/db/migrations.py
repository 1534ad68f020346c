"""Alembic, per service: each service keeps its own history in `<service>/migrations` and its own
version table, so services can share one PostgreSQL database if an operator wants to."""

from __future__ import annotations

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


async def upgrade(db: Database, service: str, migrations_package: str, rev: str = "head") -> None:
    config = alembic_config(service, migrations_package)

    def run(connection: Connection, *_: Any) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, rev)

    async with db.writer.begin() as connection:
        await connection.run_sync(run)


async def downgrade(db: Database, service: str, migrations_package: str, rev: str) -> None:
    config = alembic_config(service, migrations_package)

    def run(connection: Connection, *_: Any) -> None:
        config.attributes["connection"] = connection
        command.downgrade(config, rev)

    async with db.writer.begin() as connection:
        await connection.run_sync(run)

"""Each service's Alembic history builds exactly its models' schema, goes down and up again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect

from lugx.platform.db import Database
from lugx.platform.db.migrations import downgrade, upgrade, version_table
from lugx.services import available
from tests.conftest import TEST_DATABASE_URL, _recreate_postgres_databases, worker_name

SPECS = available()


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/migrate.db"
    else:
        if not TEST_DATABASE_URL:
            pytest.skip("LUGX_TEST_DATABASE_URL not set")
        template = TEST_DATABASE_URL.rsplit("/", 1)[0] + f"/lugx_mig_{worker_name()}_{{service}}"
        await _recreate_postgres_databases(template, ["db"])
        url = template.format(service="db")
    database = Database(url)
    yield database
    await database.dispose()


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
async def test_history_matches_the_models_and_reverses(empty_db: Database, spec: object) -> None:
    from lugx.platform.service import ServiceSpec

    assert isinstance(spec, ServiceSpec)
    await upgrade(empty_db, spec.name, spec.migrations_package)

    def mapped(name: str | None, kind: str, *_: object) -> bool:
        return not (kind == "table" and name and name.startswith(tuple(spec.raw_tables)))

    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(
            connection,
            opts={
                "version_table": version_table(spec.name),
                "compare_type": True,
                "include_name": mapped,
            },
        )
        return list(compare_metadata(context, spec.metadata))

    def tables(connection: Connection) -> set[str]:
        return {name for name in inspect(connection).get_table_names() if mapped(name, "table")}

    async with empty_db.writer.connect() as conn:
        assert await conn.run_sync(differences) == []
        assert set(spec.metadata.tables) <= await conn.run_sync(tables)

    await downgrade(empty_db, spec.name, spec.migrations_package, "base")
    async with empty_db.writer.connect() as conn:
        assert await conn.run_sync(tables) == {version_table(spec.name)}

    await upgrade(empty_db, spec.name, spec.migrations_package)  # and back up again

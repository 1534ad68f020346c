"""Databases for the platform's database tests: each test on SQLite, and again on PostgreSQL
when LUGX_TEST_DATABASE_URL is set (a fresh database per worker and name)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import MetaData

from lugx.platform.db import Database
from tests.conftest import TEST_DATABASE_URL, _recreate_postgres_databases, worker_name

ONLY_POSTGRES = pytest.mark.skipif(not TEST_DATABASE_URL, reason="LUGX_TEST_DATABASE_URL not set")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=ONLY_POSTGRES)]


async def postgres_url(name: str) -> str:
    """A fresh, empty PostgreSQL database of this worker's, named after `name`."""
    assert TEST_DATABASE_URL is not None
    template = f"{TEST_DATABASE_URL.rsplit('/', 1)[0]}/lugx_{name}_{worker_name()}_{{service}}"
    await _recreate_postgres_databases(template, ["db"])
    return template.format(service="db")


async def database_on(
    backend: str, tmp_path: Path, name: str, metadata: MetaData, *, pool_size: int = 10
) -> Database:
    """A Database on `backend` ("sqlite" in `tmp_path`, or "postgresql") with `metadata`'s
    tables made."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/{name}.db"
    else:
        url = await postgres_url(name)
    database = Database(url, pool_size=pool_size)
    async with database.writer.begin() as conn:
        await conn.run_sync(metadata.create_all)
    return database

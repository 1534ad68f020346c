"""Fixtures shared by the catalog's test modules."""

from __future__ import annotations

import pytest

from lugx.platform.bootstrap import Platform
from lugx.platform.db import Database
from tests.catalog.search_factories import catalog_db, forget_typo_table


@pytest.fixture
async def db(platform: Platform) -> Database:
    """The catalog's database, for the search tests: their games are written straight into it,
    and the typo table starts empty."""
    database = catalog_db(platform)
    await forget_typo_table(database)
    return database

"""What other services ask the catalog over its internal endpoints."""

from __future__ import annotations

import uuid

import httpx
import pytest

from lugx.platform.bootstrap import Platform
from lugx.platform.errors import Forbidden, NotFound
from lugx.services.catalog.client import CatalogClient
from tests.catalog.factories import create_game, publisher_account
from tests.conftest import over_http


def catalog_as(platform: Platform, caller: str) -> CatalogClient:
    """The catalog's client with `caller`'s service token, over its internal endpoints."""
    return over_http(platform, CatalogClient, caller)


async def test_a_service_learns_who_may_act_for_a_game(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    owner = await publisher_account(client, platform)
    rival = await publisher_account(client, platform)
    game = await create_game(client, owner, publish=False)
    catalog = catalog_as(platform, "reviews")
    assert await catalog.is_publisher_member(game["app_id"], uuid.UUID(owner.user["id"]))
    assert not await catalog.is_publisher_member(game["app_id"], uuid.UUID(rival.user["id"]))
    with pytest.raises(NotFound):
        await catalog.is_publisher_member(999_999_999, uuid.UUID(owner.user["id"]))


async def test_only_named_services_may_ask(client: httpx.AsyncClient, platform: Platform) -> None:
    owner = await publisher_account(client, platform)
    game = await create_game(client, owner)
    path = f"/internal/v1/catalog/games/{game['app_id']}/members/{owner.user['id']}"
    with pytest.raises(Forbidden):
        await catalog_as(platform, "users").is_publisher_member(game["app_id"], uuid.uuid4())
    assert (await client.get(path, headers=owner.headers)).status_code == 404  # not routed

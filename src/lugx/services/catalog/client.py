"""The typed client other services (shopping, purchases, the web front) use to ask the catalog."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import TypeAdapter

from lugx.platform.clients import ServiceClient
from lugx.services.catalog.schemas import (
    DiscountRead,
    GameDetail,
    GameManagers,
    GameSummary,
    GenreRead,
    PriceRead,
    PublisherRead,
    SearchPage,
    Sellable,
    ShelfPage,
    SuggestPage,
)

_PRICES = TypeAdapter(dict[str, PriceRead])
_GENRES = TypeAdapter(list[GenreRead])
_PUBLISHERS = TypeAdapter(list[PublisherRead])
_SUMMARIES = TypeAdapter(list[GameSummary])
_DISCOUNTS = TypeAdapter(list[DiscountRead])
_SELLABLES = TypeAdapter(dict[str, Sellable])


class CatalogClient(ServiceClient):
    service = "catalog"

    async def game(self, app_id: int, *, currency: str = "USD") -> GameDetail:
        response = await self.request(
            "GET", f"/api/v1/catalog/games/{app_id}", params={"currency": currency}
        )
        return GameDetail.model_validate_json(response.content)

    async def prices(self, app_ids: list[int], *, currency: str = "USD") -> dict[int, PriceRead]:
        """Current prices of published items; unknown or unpublished ones are left out."""
        response = await self.request(
            "GET", "/api/v1/catalog/prices", params={"app_ids": app_ids, "currency": currency}
        )
        return {int(k): v for k, v in _PRICES.validate_json(response.content).items()}

    async def is_publisher_member(self, app_id: int, user_id: uuid.UUID) -> bool:
        """Whether the user belongs to the publisher owning the game (NotFound: no such game).
        Needs a service token (`ctx.client(CatalogClient)`); the caller checks roles itself."""
        response = await self.request(
            "GET", f"/internal/v1/catalog/games/{app_id}/members/{user_id}"
        )
        return GameManagers.model_validate_json(response.content).member

    async def sellables(self, app_ids: list[int]) -> dict[int, Sellable]:
        """What selling these items needs of them now (status, title, type, image, USD price,
        a bundle's items and discount), by app_id: unknown ones are left out, the items of the
        bundles among them are added. At most `schemas.SELLABLES_PER_CALL` app_ids.
        Needs a service token (`ctx.client(CatalogClient)` from shopping or purchases)."""
        if self.local is not None:
            from lugx.services.catalog import operations

            return await self.run_local(operations.sellables, app_ids)
        response = await self.request(
            "GET", "/internal/v1/catalog/sellables", params={"app_ids": app_ids}
        )
        return {int(k): v for k, v in _SELLABLES.validate_json(response.content).items()}

    # -- the web store front: shelves, search, and the publisher's pages -------------------

    async def shelf(self, name: str, *, limit: int = 12, currency: str = "USD") -> ShelfPage:
        """`name`: featured, new-and-trending, specials, top-sellers, coming-soon, or
        `genres/<slug>`."""
        response = await self.request(
            "GET",
            f"/api/v1/catalog/shelves/{name}",
            params={"limit": limit, "currency": currency},
        )
        return ShelfPage.model_validate_json(response.content)

    async def genres(self) -> list[GenreRead]:
        response = await self.request("GET", "/api/v1/catalog/genres")
        return _GENRES.validate_json(response.content)

    async def search(self, params: dict[str, Any]) -> SearchPage:
        """`params` as in `GET /games` (lists for repeatable filters)."""
        response = await self.request("GET", "/api/v1/catalog/games", params=params)
        return SearchPage.model_validate_json(response.content)

    async def suggest(self, q: str, *, limit: int = 8) -> SuggestPage:
        response = await self.request(
            "GET", "/api/v1/catalog/suggest", params={"q": q, "limit": limit}
        )
        return SuggestPage.model_validate_json(response.content)

    async def game_for(self, app_id: int, *, token: str | None) -> GameDetail:
        """The listing as this caller sees it (a draft only for its publisher)."""
        response = await self.request("GET", f"/api/v1/catalog/games/{app_id}", token=token)
        return GameDetail.model_validate_json(response.content)

    async def my_publishers(self, *, token: str) -> list[PublisherRead]:
        response = await self.request("GET", "/api/v1/catalog/publishers/mine", token=token)
        return _PUBLISHERS.validate_json(response.content)

    async def my_games(self, *, token: str) -> list[GameSummary]:
        response = await self.request("GET", "/api/v1/catalog/publishers/mine/games", token=token)
        return _SUMMARIES.validate_json(response.content)

    async def create_publisher(self, body: dict[str, Any], *, token: str) -> PublisherRead:
        response = await self.request("POST", "/api/v1/catalog/publishers", json=body, token=token)
        return PublisherRead.model_validate_json(response.content)

    async def create_game(self, body: dict[str, Any], *, token: str) -> GameDetail:
        response = await self.request("POST", "/api/v1/catalog/games", json=body, token=token)
        return GameDetail.model_validate_json(response.content)

    async def update_game(self, app_id: int, body: dict[str, Any], *, token: str) -> GameDetail:
        response = await self.request(
            "PATCH", f"/api/v1/catalog/games/{app_id}", json=body, token=token
        )
        return GameDetail.model_validate_json(response.content)

    async def discounts(self, app_id: int, *, token: str) -> list[DiscountRead]:
        response = await self.request(
            "GET", f"/api/v1/catalog/games/{app_id}/discounts", token=token
        )
        return _DISCOUNTS.validate_json(response.content)

    async def add_discount(self, app_id: int, body: dict[str, Any], *, token: str) -> DiscountRead:
        response = await self.request(
            "POST", f"/api/v1/catalog/games/{app_id}/discounts", json=body, token=token
        )
        return DiscountRead.model_validate_json(response.content)

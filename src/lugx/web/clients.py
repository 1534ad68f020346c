"""The public commerce and review endpoints the store front calls for a signed-in player, with
the player's own bearer token (the services take the player only from it). Web-only clients,
so the services' own client.py stay what other services use."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel

from lugx.platform.clients import ServiceClient
from lugx.platform.errors import NotFound
from lugx.platform.pagination import Page
from lugx.services.payments.schemas import ConfirmationRead, WalletEntryRead, WalletRead
from lugx.services.purchases.schemas import EntitlementRead, OrderRead, ReceiptRead, RefundRead
from lugx.services.reviews.schemas import ReviewRead, VoteRead
from lugx.services.shopping.schemas import CartRead, WishlistLine


class TopUpAnswer(BaseModel):
    """A top-up as payments answered it (201, or the replay of the first answer)."""

    id: uuid.UUID
    status: str
    next_action: dict[str, Any] | None = None


class WebShopping(ServiceClient):
    service = "shopping"
    base = "/api/v1/shopping"

    async def cart(self, *, token: str) -> CartRead:
        response = await self.request("GET", f"{self.base}/cart", token=token)
        return CartRead.model_validate_json(response.content)

    async def add_to_cart(self, app_id: int, *, token: str) -> CartRead:
        response = await self.request(
            "POST", f"{self.base}/cart/items", json={"app_id": app_id}, token=token
        )
        return CartRead.model_validate_json(response.content)

    async def remove_from_cart(self, app_id: int, *, token: str) -> None:
        await self.request("DELETE", f"{self.base}/cart/items/{app_id}", token=token)

    async def apply_coupon(self, code: str, *, token: str) -> CartRead:
        response = await self.request(
            "POST", f"{self.base}/cart/coupon", json={"code": code}, token=token
        )
        return CartRead.model_validate_json(response.content)

    async def remove_coupon(self, *, token: str) -> None:
        await self.request("DELETE", f"{self.base}/cart/coupon", token=token)

    async def wishlist(
        self, *, token: str, cursor: str | None = None, limit: int = 50
    ) -> Page[WishlistLine]:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        response = await self.request(
            "GET", f"{self.base}/wishlist/items", token=token, params=params
        )
        return Page[WishlistLine].model_validate_json(response.content)

    async def wish(self, app_id: int, *, token: str) -> None:
        await self.request(
            "POST", f"{self.base}/wishlist/items", json={"app_id": app_id}, token=token
        )

    async def unwish(self, app_id: int, *, token: str) -> None:
        await self.request("DELETE", f"{self.base}/wishlist/items/{app_id}", token=token)

    async def set_alert(self, app_id: int, cents: int, *, token: str) -> None:
        body = {"target_price": {"amount": cents, "currency": "USD"}}
        await self.request(
            "PUT", f"{self.base}/wishlist/items/{app_id}/alert", json=body, token=token
        )

    async def clear_alert(self, app_id: int, *, token: str) -> None:
        await self.request("DELETE", f"{self.base}/wishlist/items/{app_id}/alert", token=token)


class WebPurchases(ServiceClient):
    service = "purchases"
    base = "/api/v1/purchases"

    async def checkout(self, body: dict[str, Any], *, key: str, token: str) -> OrderRead:
        response = await self.request(
            "POST",
            f"{self.base}/checkout",
            json=body,
            token=token,
            headers={"idempotency-key": key},
        )
        return OrderRead.model_validate_json(response.content)

    async def orders(
        self, *, token: str, cursor: str | None = None, limit: int = 20
    ) -> Page[OrderRead]:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        response = await self.request("GET", f"{self.base}/orders", token=token, params=params)
        return Page[OrderRead].model_validate_json(response.content)

    async def order(self, order_id: uuid.UUID, *, token: str) -> OrderRead:
        response = await self.request("GET", f"{self.base}/orders/{order_id}", token=token)
        return OrderRead.model_validate_json(response.content)

    async def receipt(self, order_id: uuid.UUID, *, token: str) -> ReceiptRead:
        response = await self.request("GET", f"{self.base}/orders/{order_id}/receipt", token=token)
        return ReceiptRead.model_validate_json(response.content)

    async def cancel(self, order_id: uuid.UUID, *, token: str) -> OrderRead:
        response = await self.request("POST", f"{self.base}/orders/{order_id}/cancel", token=token)
        return OrderRead.model_validate_json(response.content)

    async def refund(self, order_id: uuid.UUID, reason: str, *, key: str, token: str) -> RefundRead:
        response = await self.request(
            "POST",
            f"{self.base}/orders/{order_id}/refund",
            json={"reason": reason},
            token=token,
            headers={"idempotency-key": key},
        )
        return RefundRead.model_validate_json(response.content)

    async def library(
        self, *, token: str, cursor: str | None = None, limit: int = 50
    ) -> Page[EntitlementRead]:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        response = await self.request("GET", f"{self.base}/library", token=token, params=params)
        return Page[EntitlementRead].model_validate_json(response.content)


class WebPayments(ServiceClient):
    service = "payments"
    base = "/api/v1/payments"

    async def wallet(self, *, token: str) -> WalletRead:
        response = await self.request("GET", f"{self.base}/wallet", token=token)
        return WalletRead.model_validate_json(response.content)

    async def entries(self, *, token: str, limit: int = 10) -> Page[WalletEntryRead]:
        response = await self.request(
            "GET", f"{self.base}/wallet/entries", token=token, params={"limit": limit}
        )
        return Page[WalletEntryRead].model_validate_json(response.content)

    async def top_up(self, body: dict[str, Any], *, key: str, token: str) -> TopUpAnswer:
        """A declined card raises the 402 problem (its `code`: card-declined, ...)."""
        response = await self.request(
            "POST",
            f"{self.base}/wallet/top-ups",
            json=body,
            token=token,
            headers={"idempotency-key": key},
        )
        return TopUpAnswer.model_validate_json(response.content)

    async def confirm(self, payment_id: uuid.UUID, *, token: str) -> ConfirmationRead:
        response = await self.request(
            "POST", f"{self.base}/confirmations/{payment_id}", token=token
        )
        return ConfirmationRead.model_validate_json(response.content)


class WebReviews(ServiceClient):
    service = "reviews"
    base = "/api/v1/reviews"

    async def reviews(self, app_id: int, *, limit: int = 10) -> Page[ReviewRead]:
        response = await self.request(
            "GET",
            f"{self.base}/games/{app_id}/reviews",
            params={"sort": "helpful", "limit": limit},
        )
        return Page[ReviewRead].model_validate_json(response.content)

    async def mine(self, app_id: int, *, token: str) -> ReviewRead | None:
        try:
            response = await self.request(
                "GET", f"{self.base}/games/{app_id}/reviews/mine", token=token
            )
        except NotFound:
            return None
        return ReviewRead.model_validate_json(response.content)

    async def post(self, app_id: int, body: dict[str, Any], *, token: str) -> ReviewRead:
        response = await self.request(
            "POST", f"{self.base}/games/{app_id}/reviews", json=body, token=token
        )
        return ReviewRead.model_validate_json(response.content)

    async def update(self, review_id: uuid.UUID, body: dict[str, Any], *, token: str) -> ReviewRead:
        response = await self.request("PATCH", f"{self.base}/{review_id}", json=body, token=token)
        return ReviewRead.model_validate_json(response.content)

    async def delete(self, review_id: uuid.UUID, *, token: str) -> None:
        await self.request("DELETE", f"{self.base}/{review_id}", token=token)

    async def vote(
        self, review_id: uuid.UUID, kind: str, value: bool | None, *, token: str
    ) -> VoteRead:
        path = f"{self.base}/{review_id}/votes/{kind}"
        if value is None:
            response = await self.request("DELETE", path, token=token)
        else:
            response = await self.request("PUT", path, json={"value": value}, token=token)
        return VoteRead.model_validate_json(response.content)

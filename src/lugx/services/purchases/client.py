"""The typed client other services (shopping, catalog, reviews) use to ask purchases."""

from __future__ import annotations

import uuid

from lugx.platform.clients import ServiceClient
from lugx.services.purchases.schemas import OwnedItem, OwnedList


class PurchasesClient(ServiceClient):
    service = "purchases"

    async def owned(self, user_id: uuid.UUID, app_ids: list[int]) -> dict[int, OwnedItem]:
        """Which of `app_ids` the user owns now, by app_id (the others are left out). Needs a
        service token (`ctx.client(PurchasesClient)`)."""
        if not app_ids:
            return {}
        if self.local is not None:
            from lugx.services.purchases import operations

            return await self.run_local(operations.owned, user_id, app_ids)
        response = await self.request(
            "GET", f"/internal/v1/purchases/users/{user_id}/owned", params={"app_id": app_ids}
        )
        return {item.app_id: item for item in OwnedList.model_validate_json(response.content).items}

"""The typed client other services (the web front) use to ask the reviews service."""

from __future__ import annotations

from lugx.platform.clients import ServiceClient
from lugx.services.reviews.schemas import SummaryRead


class ReviewsClient(ServiceClient):
    service = "reviews"

    async def summary(self, app_id: int) -> SummaryRead:
        response = await self.request("GET", f"/api/v1/reviews/games/{app_id}/summary")
        return SummaryRead.model_validate_json(response.content)

"""`lugx serve web`: the store front's own process answers the probes every Lugx process does."""

from __future__ import annotations

import httpx

from lugx.platform.settings import Settings
from lugx.web import web_process_app
from tests.conftest import free_port


async def test_the_web_process_has_health_readiness_and_metrics(settings: Settings) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"  # no users service listens there
    app = web_process_app(settings.model_copy(update={"service_urls": {"users": nowhere}}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://web") as http:
        health = await http.get("/healthz", headers={"x-request-id": "web-probe-000001"})
        assert health.json() == {"status": "ok"}
        assert health.headers["x-request-id"] == "web-probe-000001"
        ready = await http.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["cache"] == "ok"
        assert ready.json()["checks"]["users"].startswith("unavailable")
        metrics = await http.get("/metrics")
        assert 'lugx_http_requests_total{method="GET",route="/healthz",service="web"' in (
            metrics.text
        )

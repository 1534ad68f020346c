"""A child process for the saga crash tests: the whole platform on a shared SQLite data dir,
one checkout (or, given an ORDER_ID, one refund of that order), and the process SIGKILLs itself
at the step named in argv (through the `purchases_crash_point` setting).
Usage: crash_child.py DATA_DIR POINT ACCESS_TOKEN [ORDER_ID]"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import httpx

from lugx.gateway.app import create_gateway
from lugx.platform.bootstrap import Platform
from lugx.services import available
from tests.purchases.test_crash import crash_settings


async def main(data_dir: Path, point: str, token: str, order_id: str | None) -> None:
    platform = Platform(crash_settings(data_dir, purchases_crash_point=point), available())
    await platform.start(migrate=False, seed=False)
    gateway = create_gateway(
        platform.wiring, {name: r.app for name, r in platform.runtimes.items()}, readiness={}
    )
    transport = httpx.ASGITransport(app=gateway, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://lugx.test") as http:
        path, body = "/api/v1/purchases/checkout", {"payment_method": "wallet"}
        if order_id is not None:
            path, body = f"/api/v1/purchases/orders/{order_id}/refund", {"reason": "crash test"}
        response = await http.post(
            path,
            json=body,
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "crash-test"},
        )
    print("SURVIVED", response.status_code, response.text, flush=True)  # the test fails on this


if __name__ == "__main__":
    order = sys.argv[4] if len(sys.argv) > 4 else None
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2], sys.argv[3], order))

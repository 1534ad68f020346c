"""A payments process that dies by SIGKILL in the middle of a wallet charge, for test_crash.py.

    python crash_child.py DATABASE_URL SECRET_HEX USER_ID ORDER_ID MODE

It charges 1,000 cents from the user's wallet for the order with the service's own rules, as
the charge endpoint does (Idempotency-Key: the order id), then:
- `mid-transaction`: prints `CHARGED <charge id>` with the ledger entries flushed but not
  committed, and waits for the parent's SIGKILL;
- `after-commit`: commits, prints `COMMITTED <charge id>` and kills itself before answering.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from datetime import UTC, datetime

from lugx.platform.db import Database
from lugx.platform.events import EventBus, InProcessTransport
from lugx.platform.money import Money
from lugx.platform.settings import Settings
from lugx.services.payments import service
from lugx.services.payments.models import EVENTS
from lugx.services.payments.schemas import ChargeCreate


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def main(url: str, secret: bytes, user_id: str, order_id: str, mode: str) -> None:
    settings = Settings(_env_file=None, environment="test")  # type: ignore[call-arg]
    db = Database(url)
    bus = EventBus("payments", db, EVENTS, InProcessTransport(), settings)
    payments = service.Payments(events=bus, settings=settings, secret_key=secret)
    body = ChargeCreate(
        user_id=uuid.UUID(user_id),
        order_id=uuid.UUID(order_id),
        amount=Money(amount=1_000, currency="USD"),
        method="wallet",
    )
    today = datetime.now(UTC).date()
    async with db.session() as session:
        charge = await service.charge(session, payments, order_id, body, today)
        await session.flush()
        if mode == "mid-transaction":
            say(f"CHARGED {charge.id}")
            await asyncio.Event().wait()
    say(f"COMMITTED {charge.id}")
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    url, secret, user, order, mode = sys.argv[1:6]
    asyncio.run(main(url, bytes.fromhex(secret), user, order, mode))

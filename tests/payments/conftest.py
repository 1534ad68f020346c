"""The payments tests run the platform without the purchases service.

They charge orders that do not exist (purchases owns orders), and purchases, rightly, gives back
any money taken for an order it does not know (its saga's orphan rule) as soon as the
PaymentSucceeded event reaches it: balances would move under the tests' feet. Payments is still
called as purchases calls it: through PaymentsClient, with the purchases service's token.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from lugx.platform.bootstrap import Platform
from lugx.platform.settings import Settings
from lugx.services import spec_of
from tests.conftest import stop_emptied

SERVICES = ("users", "payments")


@pytest.fixture
async def platform(settings: Settings) -> AsyncIterator[Platform]:
    platform = Platform(settings, [spec_of(name) for name in SERVICES])
    await platform.start(migrate=False, seed=False)
    try:
        yield platform
    finally:
        await stop_emptied(platform)

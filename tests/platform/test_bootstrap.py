"""The embedded platform's life cycle: start, halt (events and loops stop), close."""

from __future__ import annotations

from sqlalchemy import text

from lugx.platform.bootstrap import Platform
from lugx.platform.settings import Settings
from lugx.services import available
from tests.conftest import database_of, stop_emptied


async def test_halt_stops_every_relay_and_loop_but_keeps_the_databases_open(
    settings: Settings,
) -> None:
    platform = Platform(settings, available())
    await platform.start(migrate=False, seed=False)
    try:
        assert all(bus.running for bus in platform.buses)
        assert platform.runtimes["purchases"].background_running  # the saga's recovery loop
        await platform.halt()
        await platform.halt()  # a second halt is harmless (tests' teardown halts again)
        assert not any(bus.running for bus in platform.buses)
        assert not any(runtime.background_running for runtime in platform.runtimes.values())
        for name in platform.runtimes:
            async with database_of(platform, name).session() as session:
                assert (await session.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        await stop_emptied(platform)

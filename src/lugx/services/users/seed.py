"""Demo accounts for the quick start (never in production: see ServiceRuntime.seed_demo).

Their passwords are in the README on purpose: they exist so a newcomer can sign in at once.
"""

from __future__ import annotations

from lugx.platform.service import ServiceContext
from lugx.services.users import repository as repo
from lugx.services.users import service
from lugx.services.users.schemas import RegisterRequest

DEMO_ACCOUNTS = (
    ("demo", "demo@lugx.example", "play-lugx-2026", ["player"]),
    ("studio", "studio@lugx.example", "publish-lugx-2026", ["player", "publisher"]),
    ("operator", "operator@lugx.example", "admin-lugx-2026", ["player", "admin"]),
)


async def seed_demo(ctx: ServiceContext) -> None:
    accounts: service.Accounts = ctx.extras["accounts"]
    for username, email, password, roles in DEMO_ACCOUNTS:
        async with ctx.db.session(write=False) as session:
            if await repo.username_taken(session, username):
                continue
        body = RegisterRequest(username=username, email=email, password=password)
        password_hash = await accounts.credentials.registration_hash(
            password, username=username, email=email
        )
        async with ctx.db.session() as session:
            await service.register(session, accounts, body, password_hash, roles=roles)

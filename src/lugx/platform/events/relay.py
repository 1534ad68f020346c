"""The outbox relay: publishes committed outbox rows through a transport, at least once.

One pass (`deliver_pending`):
1. *claim*: in a short write transaction, take the due unpublished rows in order (on PostgreSQL
   `FOR UPDATE SKIP LOCKED`, so several relays share the work without waiting on each other),
   count the attempt and push `next_attempt_at` one lease ahead;
2. *publish* each row, outside any transaction: no database lock is held while a broker or an
   in-process handler works (a service may consume its own events on the same database);
3. *settle*: stamp `published_at` on the successes; give each failure its error and a
   `next_attempt_at` with exponential backoff and jitter.

If the process dies between 1 and 3 the lease runs out and the rows are claimed again: the
event is published twice and the consumers' inboxes absorb the duplicate. A row whose attempts
reach `max_attempts` is left alone (unpublished, attempts >= max) for an operator to inspect and
requeue (`lugx.platform.events.admin`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Select, Table, Update, bindparam, delete, select, update

from lugx.platform.db import Database, utcnow
from lugx.platform.db.prepared import prepared
from lugx.platform.db.sql import rowcount
from lugx.platform.events.dead_letters import error_text
from lugx.platform.events.outbox import event_from_row
from lugx.platform.events.tables import EventTables
from lugx.platform.events.transport import Transport

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class _RelayStatements:
    """A pass's statements, built once per relay: building and keying a statement costs more
    than running it, and a busy service runs a pass per commit that publishes."""

    due: Select[Any]
    lease: Update
    hand_back: Update
    published: Update

    @classmethod
    def of(cls, outbox: Table, max_attempts: int, dialect: str) -> _RelayStatements:
        ids = outbox.c.id.in_(bindparam("ids", expanding=True))
        due = (
            select(outbox)
            .where(
                outbox.c.published_at.is_(None),
                outbox.c.next_attempt_at <= bindparam("now"),
                outbox.c.attempts < max_attempts,
            )
            .order_by(outbox.c.occurred_at, outbox.c.id)
            .limit(bindparam("limit"))
        )
        if dialect == "postgresql":
            due = due.with_for_update(skip_locked=True)
        return cls(
            due=prepared(due),
            lease=prepared(
                update(outbox)
                .where(ids)
                .values(attempts=outbox.c.attempts + 1, next_attempt_at=bindparam("until"))
            ),
            hand_back=prepared(
                update(outbox)
                .where(ids)
                .values(attempts=outbox.c.attempts - 1, next_attempt_at=bindparam("now"))
            ),
            published=prepared(
                update(outbox).where(ids).values(published_at=bindparam("now"), last_error=None)
            ),
        )


class OutboxRelay:
    def __init__(
        self,
        db: Database,
        tables: EventTables,
        transport: Transport,
        *,
        poll_seconds: float = 0.5,
        max_attempts: int = 8,
        backoff_base: float = 0.5,
        backoff_max: float = 300.0,
        lease_seconds: float = 60.0,
        batch_size: int = 100,
        retention: timedelta | None = None,
        purge_interval_seconds: float = 3600.0,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.db = db
        self.tables = tables
        self.transport = transport
        self.poll_seconds = poll_seconds
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.lease = timedelta(seconds=lease_seconds)
        self.batch_size = batch_size
        # Published rows are kept `retention` long (for inspection), then deleted by the loop.
        self.retention = retention
        self.purge_interval = purge_interval_seconds
        self._next_purge = 0.0
        self._wake = asyncio.Event()
        self._stopping = False
        self._pass_lock = asyncio.Lock()

    def notify(self) -> None:
        """Deliver now rather than at the next poll (called after a commit that published)."""
        self._wake.set()

    def stop(self) -> None:
        """Ask `run()` to return after its current pass."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Deliver until `stop()`: at once when notified, else every `poll_seconds`. A `stop()`
        that comes before the loop begins still counts."""
        try:
            while not self._stopping:
                self._wake.clear()
                delivered = 0
                try:
                    delivered = await self.deliver_pending(self.batch_size)
                    await self._purge_when_due()
                except Exception:
                    # The database may be briefly unavailable; the next pass tries again.
                    log.exception("outbox relay pass failed")
                if delivered >= self.batch_size or self._stopping:
                    continue  # a full batch: more may be waiting
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
        finally:
            self._stopping = False  # ready for a later run

    async def deliver_pending(self, limit: int = 100) -> int:
        """One pass. Returns how many events were claimed (published or not)."""
        async with self._pass_lock:  # one pass at a time per relay; other relays use row locks
            rows = await self._claim(limit)
            if not rows:
                return 0
            published: list[Any] = []
            failed: list[tuple[Any, Exception]] = []
            try:
                for row in rows:
                    try:
                        await self.transport.publish(event_from_row(row))
                    except Exception as exc:
                        failed.append((row, exc))
                    else:
                        published.append(row.id)
            finally:
                # Also on cancellation (shutdown): rows not yet tried are handed back at once
                # instead of waiting for their lease to run out.
                tried = set(published) | {row.id for row, _exc in failed}
                untried = [row.id for row in rows if row.id not in tried]
                await self._settle(published, failed, untried)
            return len(rows)

    def backoff(self, attempts: int) -> timedelta:
        """Delay before attempt `attempts + 1`: base * 2^(attempts-1), plus up to 25% jitter so
        relays that failed together do not retry together, capped at `backoff_max`."""
        raw = self.backoff_base * 2 ** max(attempts - 1, 0)
        return timedelta(seconds=min(self.backoff_max, raw * (1 + random.random() / 4)))

    async def _purge_when_due(self) -> None:
        if self.retention is None or time.monotonic() < self._next_purge:
            return
        self._next_purge = time.monotonic() + self.purge_interval
        purged = await self.purge_published(self.retention)
        if purged:
            log.info("outbox purged", rows=purged)

    async def purge_published(self, older_than: timedelta) -> int:
        """Delete rows published more than `older_than` ago; returns how many."""
        outbox = self.tables.outbox
        cutoff = utcnow() - older_than
        async with self.db.session(write=True) as session:
            result = await session.execute(
                delete(outbox).where(
                    outbox.c.published_at.is_not(None), outbox.c.published_at < cutoff
                )
            )
        return rowcount(result)

    @functools.cached_property
    def _statements(self) -> _RelayStatements:
        return _RelayStatements.of(self.tables.outbox, self.max_attempts, self.db.dialect)

    async def _claim(self, limit: int) -> Sequence[Any]:
        now = utcnow()
        statements = self._statements
        async with self.db.session(write=True) as session:
            due = {"now": now, "limit": limit}
            rows: Sequence[Any] = (await session.execute(statements.due, due)).all()
            if rows:
                lease = {"ids": [row.id for row in rows], "until": now + self.lease}
                await session.execute(statements.lease, lease)
        return rows

    async def _settle(
        self, published: list[Any], failed: list[tuple[Any, Exception]], untried: list[Any]
    ) -> None:
        outbox = self.tables.outbox
        now = utcnow()
        statements = self._statements
        async with self.db.session(write=True) as session:
            if untried:
                await session.execute(statements.hand_back, {"ids": untried, "now": now})
            if published:
                await session.execute(statements.published, {"ids": published, "now": now})
            for row, exc in failed:
                attempts = row.attempts + 1  # as counted by the claim
                await session.execute(
                    update(outbox)
                    .where(outbox.c.id == row.id)
                    .values(
                        next_attempt_at=self._next_attempt(now, attempts),
                        last_error=error_text(exc),
                    )
                )
        for row, exc in failed:
            attempts = row.attempts + 1
            fields = {"event_id": str(row.id), "event_type": row.type, "attempts": attempts}
            if attempts >= self.max_attempts:
                log.error(
                    "outbox event not delivered; giving up until an operator requeues it",
                    error=error_text(exc),
                    **fields,
                )
            else:
                log.warning(
                    "outbox event delivery failed, will retry", error=error_text(exc), **fields
                )

    def _next_attempt(self, now: datetime, attempts: int) -> datetime:
        return now + self.backoff(attempts)

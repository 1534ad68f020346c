"""The outbox relay: publishes committed outbox rows through a transport, at least once.

Events come two ways.

*Fresh* (`committed`, `deliver_fresh`): the bus writes an event's row due only `fresh_grace`
from now and, once the transaction commits, hands the event itself to the relay, which
publishes it from memory and stamps `published_at`: one write transaction, no read and no claim.
No poll, here or in another process, takes the row during the grace, so nobody else publishes it
meanwhile. If the process dies first, the row falls due when the grace ends and a poll takes it.

*Polled* (`deliver_pending`, every `poll_seconds`, and at start): whatever is due, which is
what a dead process left, what failed and waits out its backoff, and what was written while the
relay was not running. One pass:
1. *claim*: in a short write transaction, take the due unpublished rows in order (on PostgreSQL
   `FOR UPDATE SKIP LOCKED`, so several relays share the work without waiting on each other),
   count the attempt and push `next_attempt_at` one lease ahead;
2. *publish* each row, outside any transaction: no database lock is held while a broker or an
   in-process handler works (a service may consume its own events on the same database);
3. *settle*: stamp `published_at` on the successes; give each failure its error and a
   `next_attempt_at` with exponential backoff and jitter (a fresh event's failure likewise).

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
from lugx.platform.events.envelope import Event
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
    failed: Update

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
            # Rows not tried go back due at once; a claimed one gives its attempt back.
            hand_back=prepared(
                update(outbox)
                .where(ids)
                .values(
                    attempts=outbox.c.attempts - bindparam("claimed"),
                    next_attempt_at=bindparam("now"),
                )
            ),
            published=prepared(
                update(outbox).where(ids).values(published_at=bindparam("now"), last_error=None)
            ),
            failed=prepared(
                update(outbox)
                .where(outbox.c.id == bindparam("row_id"))
                .values(
                    attempts=bindparam("attempts"),
                    next_attempt_at=bindparam("retry_at"),
                    last_error=bindparam("error"),
                )
            ),
        )


@dataclass(frozen=True)
class _Failure:
    row_id: Any
    type: str
    attempts: int  # made so far, this one included
    error: Exception


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
        fresh_grace_seconds: float = 2.0,
        fresh_delay_seconds: float = 0.0,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not 0 <= fresh_delay_seconds < fresh_grace_seconds:
            raise ValueError("fresh_delay_seconds must be at least 0 and below the grace")
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
        # How long a fresh event's row waits before a poll may take it: far longer than the
        # relay takes to publish it from memory, short enough to pick up soon after a crash.
        self.fresh_grace = timedelta(seconds=fresh_grace_seconds)
        # How long a fresh event waits in memory before it goes out. Meanwhile the request that
        # wrote it usually finishes what its consumers would otherwise do again (the saga tells
        # shopping itself that an order is paid: `SkipWhen`), and the events of many requests go
        # out, and are marked published, together.
        self.fresh_delay = fresh_delay_seconds
        self._fresh: list[Event] = []
        self._fresh_due = 0.0  # when the oldest of `_fresh` goes out (time.monotonic)
        self._poll_now = False
        self._running = False
        self._wake = asyncio.Event()
        self._stopping = False
        self._pass_lock = asyncio.Lock()

    @property
    def takes_fresh(self) -> bool:
        """Whether an event written now will be taken from memory after its commit (the loop
        runs); if not, its row is due at once for a poll."""
        return self._running and not self._stopping

    def committed(self, events: list[Event]) -> None:
        """Events whose rows were written with `fresh_grace` and have just committed. Once the
        loop has ended they are left to a poll (after the grace), here or elsewhere."""
        if not self._running:
            return
        if not self._fresh:
            self._fresh_due = time.monotonic() + self.fresh_delay
            self._wake.set()  # the loop now waits until then at the most
        self._fresh.extend(events)
        if len(self._fresh) >= self.batch_size:
            self._wake.set()

    def _fresh_ready(self) -> bool:
        fresh = self._fresh
        return bool(fresh) and (
            len(fresh) >= self.batch_size or time.monotonic() >= self._fresh_due
        )

    def notify(self) -> None:
        """Poll now rather than at the next interval (rows written without the fresh path)."""
        self._poll_now = True
        self._wake.set()

    def stop(self) -> None:
        """Ask `run()` to return after its current pass."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Deliver until `stop()`: fresh events as soon as they commit; a poll when notified,
        after a full batch and every `poll_seconds`. A `stop()` that comes before the loop
        begins still counts."""
        self._running = True
        next_poll = 0.0  # the first pass polls: what an earlier run left behind
        try:
            while not self._stopping:
                self._wake.clear()
                try:
                    if self._fresh_ready():
                        await self.deliver_fresh()
                    if self._poll_now or time.monotonic() >= next_poll:
                        self._poll_now = False
                        delivered = await self.deliver_pending(self.batch_size)
                        next_poll = time.monotonic() + self.poll_seconds
                        if delivered >= self.batch_size:
                            self._poll_now = True  # a full batch: more may be waiting
                        await self._purge_when_due()
                except Exception:
                    # The database may be briefly unavailable; the next pass tries again.
                    log.exception("outbox relay pass failed")
                    next_poll = time.monotonic() + self.poll_seconds
                if self._stopping or self._poll_now or self._fresh_ready():
                    continue
                until = min(next_poll, self._fresh_due) if self._fresh else next_poll
                with contextlib.suppress(TimeoutError):
                    wait = max(0.0, until - time.monotonic())
                    await asyncio.wait_for(self._wake.wait(), timeout=wait)
            # Committed before stop() was asked (or while these go): out now, not after the
            # grace, a batch at a time.
            while self._fresh:
                try:
                    await self.deliver_fresh()
                except Exception:
                    log.exception("outbox relay pass failed")
                    break
        finally:
            self._running = False
            self._stopping = False  # ready for a later run

    async def deliver_fresh(self) -> int:
        """Publish the events handed over by `committed`, from memory, due or not. Returns how
        many."""
        async with self._pass_lock:
            # A batch at a time: a broker that answers slowly must not make one pass of all
            # that piles up meanwhile (nor one UPDATE with a parameter per event of it).
            events = self._fresh[: self.batch_size]
            del self._fresh[: self.batch_size]
            if events:
                await self._publish_all([(event.id, 0, event) for event in events], claimed=False)
            return len(events)

    async def deliver_pending(self, limit: int = 100) -> int:
        """One pass. Returns how many events were claimed (published or not)."""
        async with self._pass_lock:  # one pass at a time per relay; other relays use row locks
            rows = await self._claim(limit)
            if rows:
                # The claim counted an attempt: row.attempts + 1 of them now.
                await self._publish_all(
                    [(row.id, row.attempts + 1, event_from_row(row)) for row in rows],
                    claimed=True,
                )
            return len(rows)

    async def _publish_all(self, taken: list[tuple[Any, int, Event]], *, claimed: bool) -> None:
        """Publish each (row id, attempts made, event) in order, then settle them all."""
        published: list[Any] = []
        failed: list[_Failure] = []
        try:
            for row_id, attempts, event in taken:
                try:
                    await self.transport.publish(event)
                except Exception as exc:
                    failed.append(_Failure(row_id, event.type, max(attempts, 1), exc))
                else:
                    published.append(row_id)
        finally:
            # Also on cancellation (shutdown): rows not yet tried are handed back at once
            # instead of waiting for their lease (or grace) to run out.
            tried = set(published) | {failure.row_id for failure in failed}
            untried = [row_id for row_id, _attempts, _event in taken if row_id not in tried]
            await self._settle(published, failed, untried, claimed=claimed)

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
        self,
        published: list[Any],
        failed: list[_Failure],
        untried: list[Any],
        *,
        claimed: bool,
    ) -> None:
        now = utcnow()
        statements = self._statements
        # Most passes only stamp what they published: one statement, its own transaction.
        single = not (untried or failed)
        async with self.db.session(write=True, single=single) as session:
            if untried:
                back = {"ids": untried, "now": now, "claimed": int(claimed)}
                await session.execute(statements.hand_back, back)
            if published:
                await session.execute(statements.published, {"ids": published, "now": now})
            if failed:
                await session.execute(
                    statements.failed,
                    [
                        {
                            "row_id": failure.row_id,
                            "attempts": failure.attempts,
                            "retry_at": self._next_attempt(now, failure.attempts),
                            "error": error_text(failure.error),
                        }
                        for failure in failed
                    ],
                )
        for failure in failed:
            fields = {
                "event_id": str(failure.row_id),
                "event_type": failure.type,
                "attempts": failure.attempts,
            }
            if failure.attempts >= self.max_attempts:
                log.error(
                    "outbox event not delivered; giving up until an operator requeues it",
                    error=error_text(failure.error),
                    **fields,
                )
            else:
                log.warning(
                    "outbox event delivery failed, will retry",
                    error=error_text(failure.error),
                    **fields,
                )

    def _next_attempt(self, now: datetime, attempts: int) -> datetime:
        return now + self.backoff(attempts)

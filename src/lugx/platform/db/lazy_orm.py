"""The ORM session of a unit of work, made only when something uses it, and the rule of a
single-statement one: shared by SQLite's `InlineSession` and PostgreSQL's `PgSession`, whose
prepared statements need no ORM session."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import Session

from lugx.platform.db.prepared import Plan


class LazyOrm:
    """Mixed in before `AsyncSession`: its `sync_session` (and `_proxied`) become a `Session`
    made at first use, joining the unit of work's transaction on `_orm_connection()` and never
    ending it itself; `info` is the unit of work's own, with or without one."""

    _orm: Session | None
    _info: dict[Any, Any]
    # `Database.session(single=True)`: 1 until its one statement runs, then 0; else None.
    _single_left: int | None

    def _no_orm_yet(self, *, single: bool) -> None:
        """Set up, from a session's `__init__`: no ORM session, empty `info`, and for a
        single-statement unit of work (`Database.session(single=True)`), its one statement."""
        self._orm = None
        self._info = {}
        self._single_left = 1 if single else None

    def _orm_connection(self) -> Connection:
        """The connection the ORM session joins (its transaction begun, if it must be)."""
        raise NotImplementedError

    @property
    def sync_session(self) -> Session:
        if self._orm is None:
            if self._single_left is not None:
                raise InvalidRequestError("A single-statement unit of work cannot use the ORM")
            made = Session(
                bind=self._orm_connection(),
                join_transaction_mode="rollback_only",
                expire_on_commit=False,
            )
            self._orm = self._assign_proxied(made)  # type: ignore[attr-defined]
        return self._orm

    @property
    def _proxied(self) -> Session:
        return self.sync_session

    @property
    def info(self) -> dict[Any, Any]:
        return self._info

    @property
    def single(self) -> bool:
        """Whether this is a single-statement unit of work (`Database.session(single=True)`)."""
        return self._single_left is not None

    def _forget_what_waited_for_the_commit(self) -> None:
        """A rollback: the writes kept for the commit (`before_commit`: the outbox rows) and what
        was to follow it (`after_commit`: events handed to the relay...) go with it."""
        self._info.clear()

    def _take_the_one_statement(self, plan: Plan, sets: Any) -> None:
        """A single-statement unit of work runs its statement: refused if it already ran one,
        or if this is several (a statement a set, for RETURNING); one executemany is one."""
        if self._single_left == 0 or (sets is not None and not plan.executes_many):
            raise InvalidRequestError("A single-statement unit of work ran more than one")
        self._single_left = 0

    def _refuse_if_single(self) -> None:
        """A statement that is not prepared (an ORM one) has no place in a single-statement
        unit of work."""
        if self._single_left is not None:
            raise InvalidRequestError("A single-statement unit of work runs prepared statements")

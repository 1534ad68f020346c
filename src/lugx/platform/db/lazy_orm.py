"""The ORM session of a unit of work, made only when something uses it: shared by SQLite's
`InlineSession` and PostgreSQL's `PgSession`, whose prepared statements need none."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session


class LazyOrm:
    """Mixed in before `AsyncSession`: its `sync_session` (and `_proxied`) become a `Session`
    made at first use, joining the unit of work's transaction on `_orm_connection()` and never
    ending it itself; `info` is the unit of work's own, with or without one."""

    _orm: Session | None
    _info: dict[Any, Any]

    def _orm_connection(self) -> Connection:
        """The connection the ORM session joins (its transaction begun, if it must be)."""
        raise NotImplementedError

    @property
    def sync_session(self) -> Session:
        if self._orm is None:
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

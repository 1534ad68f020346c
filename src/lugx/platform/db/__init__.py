"""The database kit: typed base models, one engine per service, one transaction per request."""

from lugx.platform.db.database import Database, after_commit, is_sqlite
from lugx.platform.db.model import (
    NAMING_CONVENTION,
    Timestamps,
    UTCDateTime,
    UUIDPrimaryKey,
    new_metadata,
    utcnow,
)
from lugx.platform.db.session import DbSession, LongReadSession, WriteSession, request_session

__all__ = [
    "NAMING_CONVENTION",
    "Database",
    "DbSession",
    "LongReadSession",
    "Timestamps",
    "UTCDateTime",
    "UUIDPrimaryKey",
    "WriteSession",
    "after_commit",
    "is_sqlite",
    "new_metadata",
    "request_session",
    "utcnow",
]

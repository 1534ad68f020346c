"""The event envelope every Lugx service publishes and consumes.

`{id, type, version, occurred_at, producer, key, payload}`, serialised as JSON bytes (orjson).
`type` is a past-tense PascalCase name (`UserRegistered`, `OrderPaid`): it becomes part of broker
subjects, topics and stream names, so it is restricted to letters and digits. `key` is what the
event is about (an order id, a user id); brokers that partition use it to keep one key's events
together. `version` is the payload's schema version, bumped when a payload changes incompatibly.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from lugx.platform.db import utcnow

EVENT_TYPE_PATTERN = r"^[A-Z][A-Za-z0-9]{0,99}$"


class Event(BaseModel):
    """One immutable fact that happened in one service."""

    # Unknown envelope fields are ignored so an older consumer can read a newer producer's events.
    model_config = ConfigDict(frozen=True, extra="ignore")

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str = Field(pattern=EVENT_TYPE_PATTERN)
    version: int = Field(default=1, ge=1)
    occurred_at: AwareDatetime = Field(default_factory=utcnow)
    producer: str = Field(min_length=1, max_length=100)
    key: str = Field(max_length=200)
    payload: dict[str, Any] = Field(default_factory=dict)

    @field_validator("id")
    @classmethod
    def _plain_uuid(cls, value: uuid.UUID) -> uuid.UUID:
        # Drivers hand back UUID subclasses (asyncpg's) that orjson cannot serialise.
        return value if type(value) is uuid.UUID else uuid.UUID(int=value.int)

    @field_validator("occurred_at")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    def to_json(self) -> bytes:
        return orjson.dumps(self.model_dump(), option=orjson.OPT_UTC_Z)

    @classmethod
    def from_json(cls, data: bytes | str) -> Event:
        """Parse an envelope; raises `ValueError` (pydantic's or orjson's) when malformed."""
        return cls.model_validate(orjson.loads(data))


def json_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload as a consumer will see it: plain JSON types only (UUIDs and datetimes become
    strings). Raises `TypeError` for anything JSON cannot carry."""
    return plain_object(orjson.dumps(payload, option=orjson.OPT_UTC_Z))


def plain_object(as_json: bytes) -> dict[str, Any]:
    """A payload already written as JSON, read back as a consumer will see it."""
    value = orjson.loads(as_json)
    if not isinstance(value, dict):
        raise TypeError("an event payload must be a JSON object")
    return value

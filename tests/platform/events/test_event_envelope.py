from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest
from pydantic import ValidationError

from lugx.platform.events import Event
from lugx.platform.events.envelope import json_payload


def make(**overrides: object) -> Event:
    fields: dict[str, object] = {
        "type": "UserRegistered",
        "producer": "users",
        "key": "u-1",
        "payload": {"email": "a@example.com", "n": 1},
    }
    fields.update(overrides)
    return Event.model_validate(fields)


def test_round_trips_through_json_bytes() -> None:
    event = make()
    data = event.to_json()
    assert isinstance(data, bytes)
    assert Event.from_json(data) == event
    assert Event.from_json(data.decode()) == event


def test_json_has_the_envelope_fields_and_utc_time() -> None:
    event = make(occurred_at=datetime(2024, 5, 1, 12, 0, tzinfo=UTC), version=2)
    body = orjson.loads(event.to_json())
    assert set(body) == {"id", "type", "version", "occurred_at", "producer", "key", "payload"}
    assert body["occurred_at"] == "2024-05-01T12:00:00Z"
    assert body["version"] == 2
    assert uuid.UUID(body["id"]) == event.id


def test_occurred_at_is_normalised_to_utc_and_must_be_aware() -> None:
    plus_two = timezone(timedelta(hours=2))
    event = make(occurred_at=datetime(2024, 5, 1, 14, 0, tzinfo=plus_two))
    assert event.occurred_at == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert event.occurred_at.utcoffset() == timedelta(0)
    with pytest.raises(ValidationError):
        make(occurred_at=datetime(2024, 5, 1, 12, 0))


def test_defaults_give_a_fresh_id_and_now() -> None:
    first, second = make(), make()
    assert first.id != second.id
    assert datetime.now(UTC) - first.occurred_at < timedelta(seconds=5)
    assert first.version == 1


@pytest.mark.parametrize(
    "bad_type", ["userRegistered", "User.Registered", "User Registered", "", "User>", "X" * 101]
)
def test_type_names_are_pascal_case_without_separators(bad_type: str) -> None:
    with pytest.raises(ValidationError):
        make(type=bad_type)


def test_version_and_producer_are_checked() -> None:
    with pytest.raises(ValidationError):
        make(version=0)
    with pytest.raises(ValidationError):
        make(producer="")


def test_malformed_json_raises_value_error() -> None:
    with pytest.raises(ValueError, match=r"."):
        Event.from_json(b"not json")
    with pytest.raises(ValueError, match=r"."):
        Event.from_json(b'{"type": "UserRegistered"}')


def test_unknown_envelope_fields_are_ignored() -> None:
    body = orjson.loads(make().to_json())
    body["trace"] = "abc"
    assert Event.from_json(orjson.dumps(body)).type == "UserRegistered"


def test_events_are_immutable() -> None:
    event = make()
    with pytest.raises(ValidationError):
        event.type = "Other"  # type: ignore[misc]


def test_json_payload_turns_values_into_plain_json() -> None:
    some_id = uuid.uuid4()
    when = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert json_payload({"id": some_id, "at": when, "n": [1, 2]}) == {
        "id": str(some_id),
        "at": "2024-01-02T03:04:05Z",
        "n": [1, 2],
    }
    with pytest.raises(TypeError):
        json_payload({"s": {1, 2}})

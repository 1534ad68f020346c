from __future__ import annotations

import pytest

from lugx.platform.errors import BadRequest
from lugx.platform.pagination import decode_cursor, encode_cursor

SECRET = b"s" * 32


def test_cursor_round_trip() -> None:
    key = {"t": "2026-01-01T00:00:00+00:00", "id": "abc"}
    assert decode_cursor(SECRET, encode_cursor(SECRET, key)) == key


@pytest.mark.parametrize(
    "mangle",
    [
        lambda c: c[:-1] + ("A" if c[-1] != "A" else "B"),
        lambda c: "X" + c,
        lambda c: c.split(".")[0],
        lambda c: "",
        lambda c: "....",
        lambda c: "not base64!.sig",
    ],
)
def test_tampered_cursors_are_refused(mangle: object) -> None:
    cursor = encode_cursor(SECRET, {"id": 1})
    with pytest.raises(BadRequest):
        decode_cursor(SECRET, mangle(cursor))  # type: ignore[operator]


def test_a_cursor_from_another_secret_is_refused() -> None:
    with pytest.raises(BadRequest):
        decode_cursor(SECRET, encode_cursor(b"t" * 32, {"id": 1}))

"""The sandbox processor's card rules (pure: no database)."""

from __future__ import annotations

from datetime import date

import pytest

from lugx.services.payments import sandbox
from lugx.services.payments.sandbox import Card

TODAY = date(2026, 6, 15)


def good(number: str = "4242424242424242", **changes: object) -> Card:
    values: dict[str, object] = {"exp_month": 12, "exp_year": 2028, "cvc": "123"}
    values.update(changes)
    return Card(number=number, **values)  # type: ignore[arg-type]


def fields(card: Card) -> list[str]:
    return [p.field for p in sandbox.problems(card, TODAY)]


@pytest.mark.parametrize(
    "number",
    ["4242424242424242", "4000000000000002", "4000002500003155", "378282246310005",
     "5555555555554444", "2223003122003222", "6011111111111117", "79927398713"],
)  # fmt: skip
def test_luhn_accepts_real_numbers(number: str) -> None:
    assert sandbox.luhn_valid(number)


@pytest.mark.parametrize("number", ["4242424242424241", "79927398710", "12ab", "", "٤٢٤٢"])
def test_luhn_refuses_wrong_checksums_and_non_digits(number: str) -> None:
    assert not sandbox.luhn_valid(number)


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        ("4242424242424242", "visa"),
        ("5105105105105100", "mastercard"),
        ("5555555555554444", "mastercard"),
        ("2221000000000009", "mastercard"),
        ("2720990000000007", "mastercard"),
        ("378282246310005", "amex"),
        ("341111111111111", "amex"),
        ("6011111111111117", "discover"),
        ("6500000000000002", "discover"),
        ("5600000000000000", "unknown"),
        ("2220990000000000", "unknown"),
        ("2721000000000000", "unknown"),
    ],
)
def test_brand_comes_from_the_prefix(number: str, brand: str) -> None:
    assert sandbox.brand_of(number) == brand


def test_a_good_card_has_no_problems() -> None:
    assert sandbox.problems(good(), TODAY) == []
    assert sandbox.problems(good(exp_year=2026, exp_month=6), TODAY) == []  # this month still


@pytest.mark.parametrize(
    "number", ["4242 4242 4242 4242", "4242-4242-4242-4242", "42424242424", "4" * 20, "x"]
)
def test_number_must_be_12_to_19_digits(number: str) -> None:
    assert fields(good(number)) == ["number"]


def test_number_must_pass_luhn() -> None:
    problems = sandbox.problems(good("4242424242424241"), TODAY)
    assert [(p.field, p.type) for p in problems] == [("number", "card_number_luhn")]


@pytest.mark.parametrize(
    ("month", "year", "field"),
    [(0, 2028, "exp_month"), (13, 2028, "exp_month"), (5, 2026, "exp_month"),
     (12, 2025, "exp_year"), (1, 2099, "exp_year")],
)  # fmt: skip
def test_expiry_must_be_a_real_month_not_in_the_past(month: int, year: int, field: str) -> None:
    assert fields(good(exp_month=month, exp_year=year)) == [field]


@pytest.mark.parametrize(
    ("number", "cvc", "ok"),
    [
        ("4242424242424242", "123", True),
        ("4242424242424242", "1234", False),
        ("4242424242424242", "12", False),
        ("4242424242424242", "12a", False),
        ("378282246310005", "1234", True),
        ("378282246310005", "123", False),
    ],
)
def test_cvc_is_three_digits_or_four_for_amex(number: str, cvc: str, ok: bool) -> None:
    assert fields(good(number, cvc=cvc)) == ([] if ok else ["cvc"])


@pytest.mark.parametrize(
    ("number", "outcome", "code"),
    [
        ("4242424242424242", "succeeded", None),
        ("4000000000000002", "failed", "card_declined"),
        ("4000000000009995", "failed", "insufficient_funds"),
        ("4000000000000069", "failed", "expired_card"),
        ("4000002500003155", "requires_confirmation", None),
        ("5555555555554444", "succeeded", None),
    ],
)
def test_test_numbers_answer_as_documented(number: str, outcome: str, code: str | None) -> None:
    answer = sandbox.authorize(good(number), TODAY)
    assert (answer.outcome, answer.failure_code, answer.last4) == (outcome, code, number[-4:])


def test_the_card_number_never_shows_in_its_repr() -> None:
    shown = repr(good())
    assert "4242424242424242" not in shown
    assert "number" not in shown
    assert "cvc" not in shown

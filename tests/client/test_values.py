"""The value quirks of the API, normalised: money, dates, months, placeholders, flags."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from cdp_mcp.client.models import Money
from cdp_mcp.client.values import as_bool, as_date, as_int, as_money, as_month, as_text, is_placeholder


@pytest.mark.parametrize(("raw", "money"), [
    ("$ 55.9", Money(amount=55.9, currency="USD")),
    ("₹1,234.50", Money(amount=1234.5, currency="INR")),
    ("€ 12,50", Money(amount=12.5, currency="EUR")),
    ("1.234,50 EUR", Money(amount=1234.5, currency="EUR")),
    ("£-3", Money(amount=-3.0, currency="GBP")),
    ("Rs. 99", Money(amount=99.0, currency="INR")),
    ("12 XYZ", Money(amount=12.0, currency="XYZ")),
    ("1,234", Money(amount=1234.0, currency=None)),
    (23.31, Money(amount=23.31, currency=None)),
    ({"amount": "5", "currency": "usd"}, Money(amount=5.0, currency="USD")),
    ("", None), ("Not available", None), ("free", None), (True, None),
])
def test_money(raw: Any, money: Money | None) -> None:
    assert as_money(raw) == money


def test_money_number_takes_the_stated_currency() -> None:
    assert as_money(10, "$") == Money(amount=10.0, currency="USD")


@pytest.mark.parametrize(("raw", "day"), [
    ("10/02/2002", date(2002, 2, 10)),  # DD/MM/YYYY, as the API writes it
    ("10-05-2020", date(2020, 5, 10)),
    ("2020-05-10", date(2020, 5, 10)),
    ("2020-05-10T23:30:00Z", date(2020, 5, 10)),
    ("02/25/2002", date(2002, 2, 25)),
    ("10 May 2020", date(2020, 5, 10)),
    ("May 10, 2020", date(2020, 5, 10)),
    ("31/02/2020", None), ("soon", None), ("NA", None), (None, None),
])
def test_dates(raw: Any, day: date | None) -> None:
    assert as_date(raw) == day


@pytest.mark.parametrize(("raw", "month"), [
    ("Jan,22", "2022-01"), ("Dec,99", "2099-12"), ("January 2024", "2024-01"), ("2024-02", "2024-02"),
    ("03/2024", "2024-03"), ("2024-04-15", "2024-04"), ("Foo,22", None), ("13/2024", None), ("", None),
])
def test_months(raw: str, month: str | None) -> None:
    assert as_month(raw) == month


@pytest.mark.parametrize("raw", ["", " ", "Not available", "NA", "n/a", "null", "None", None])
def test_placeholders_are_no_value(raw: Any) -> None:
    assert is_placeholder(raw) and as_text(raw) is None


def test_ids_and_flags() -> None:
    assert (as_text(1092), as_text("1092 "), as_text(7.0)) == ("1092", "1092", "7")
    assert (as_int("12"), as_int("1,200"), as_int(3.5), as_int(True)) == (12, 1200, None, None)
    assert [as_bool(v) for v in (True, "yes", "Y", 1, 0, "opted out", "maybe", 2)] == [
        True, True, True, True, False, False, None, None]

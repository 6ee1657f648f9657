"""Coercions of upstream values into clean Python values: the documented quirks end here.

Placeholders (`""`, `" "`, "Not available", "NA", "null") become None; money strings such as `"$ 55.9"` or
`"₹1,234.50"` become `Money`; the date formats the API mixes (`10/02/2002` as DD/MM/YYYY, `10-05-2020`, ISO)
become `date`; month buckets such as `"Jan,22"` become `"2022-01"`. Every function returns None rather than
raising when a value is absent or unusable, so one odd field never sinks a whole response.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import TypeGuard

from cdp_mcp.client.models import Money

__all__ = [
    "as_bool",
    "as_date",
    "as_float",
    "as_instant",
    "as_int",
    "as_money",
    "as_month",
    "as_text",
    "currency_code",
    "is_placeholder",
    "is_scalar",
    "scalar_text",
]

_PLACEHOLDERS = frozenset({"", "na", "n/a", "null", "none", "nil", "not available", "notavailable", "-", "--",
                           "undefined"})
_SYMBOLS = {"$": "USD", "US$": "USD", "€": "EUR", "£": "GBP", "₹": "INR", "RS": "INR", "RS.": "INR", "¥": "JPY",
            "₩": "KRW", "₽": "RUB", "R$": "BRL", "A$": "AUD", "C$": "CAD", "S$": "SGD", "AED": "AED"}
_ISO_CODE = re.compile(r"^[A-Z]{3}$")
_MONEY = re.compile(r"^(?P<pre>[^\d\-+.,]*?(?:\.(?=\s))?)\s*(?P<num>[-+]?[\d.,]*\d[\d.,]*)\s*(?P<post>[^\d]*)$")
_THOUSANDS = re.compile(r"^[-+]?\d{1,3}(,\d{3})+$")
_TRUE = frozenset({"true", "yes", "y", "1", "on", "opted in", "optedin", "subscribed", "active", "available"})
_FALSE = frozenset({"false", "no", "n", "0", "off", "opted out", "optedout", "unsubscribed", "inactive"})
_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
_DMY = re.compile(r"^(\d{1,2})[/\-.](\d{1,2})[/\-.](\d{4})$")
_YMD = re.compile(r"^(\d{4})[/\-.](\d{1,2})[/\-.](\d{1,2})$")
_MONTH_NAME = re.compile(r"^([A-Za-z]{3,9})[\s,\-/']*(\d{2}|\d{4})$")
_YEAR_MONTH = re.compile(r"^(\d{4})[\-/.](\d{1,2})$")
_MONTH_YEAR = re.compile(r"^(\d{1,2})[\-/.](\d{4})$")
_TEXT_DATES = ("%d %b %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y", "%d-%b-%Y", "%d-%b-%y")


_LONGEST_PLACEHOLDER = max(map(len, _PLACEHOLDERS))


def is_placeholder(value: object) -> bool:
    """None, blank strings and the API's 'no value' words."""
    if value is None:
        return True
    if not isinstance(value, str):
        return False
    if len(value) > _LONGEST_PLACEHOLDER and not (value[0].isspace() or value[-1].isspace()):
        return False  # longer than any placeholder, with nothing to strip: the common case, without a copy
    return value.strip().lower() in _PLACEHOLDERS


def is_scalar(value: object) -> TypeGuard[str | int | float | bool]:
    return isinstance(value, str | int | float | bool)


def as_text(value: object) -> str | None:
    """A non-placeholder scalar as a stripped string (ints stay digits: `1092` -> `"1092"`)."""
    return None if is_placeholder(value) else scalar_text(value)


def scalar_text(value: object) -> str | None:
    """`as_text` of a value known not to be a placeholder (None is None)."""
    if type(value) is str:
        return value.strip()
    if not is_scalar(value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _number_text(text: str) -> str | None:
    """Normalise `1,234.50`, `1.234,50`, `55,9` to `1234.50` / `55.9`."""
    if "," in text and "." in text:
        decimal = "," if text.rfind(",") > text.rfind(".") else "."
        grouping = "." if decimal == "," else ","
        text = text.replace(grouping, "").replace(decimal, ".")
    elif "," in text:
        text = text.replace(",", "") if _THOUSANDS.match(text) else text.replace(",", ".")
    try:
        float(text)
    except ValueError:
        return None
    return text


def as_float(value: object) -> float | None:
    if isinstance(value, bool) or is_placeholder(value):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        money = as_money(value)
        return money.amount if money else None
    return None


def as_int(value: object) -> int | None:
    """Integers, integral floats and digit strings (`"12"`, `"1,200"`); anything else None."""
    number = as_float(value)
    if number is None or not number.is_integer():
        return None
    return int(number)


def currency_code(symbol: str | None) -> str | None:
    """`$` -> USD, `₹` -> INR, `usd` -> USD; an unknown symbol is kept as given."""
    if symbol is None or not symbol.strip():
        return None
    key = symbol.strip().upper()
    if key in _SYMBOLS:
        return _SYMBOLS[key]
    return key if _ISO_CODE.match(key) else symbol.strip()


def as_money(value: object, currency: str | None = None) -> Money | None:
    """`"$ 55.9"`, `"₹1,234.50"`, `"55.9 EUR"`, `23.31` (with `currency` as default) -> Money."""
    if isinstance(value, bool) or is_placeholder(value):
        return None
    if isinstance(value, int | float):
        return Money(amount=float(value), currency=currency_code(currency))
    if isinstance(value, dict):
        lowered = {str(k).lower(): v for k, v in value.items()}
        inner = next((lowered[k] for k in ("amount", "value") if k in lowered), None)
        unit = next((lowered[k] for k in ("currency", "currencycode") if k in lowered), None)
        return as_money(inner, unit if isinstance(unit, str) else currency)
    if not isinstance(value, str):
        return None
    match = _MONEY.match(value.strip())
    if not match:
        return None
    number = _number_text(match["num"])
    if number is None:
        return None
    symbol = (match["pre"] or match["post"] or "").strip() or currency
    return Money(amount=float(number), currency=currency_code(symbol))


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def as_instant(value: object) -> datetime | None:
    """An aware UTC datetime from ISO 8601 (naive means UTC) or epoch seconds/milliseconds."""
    if isinstance(value, bool) or is_placeholder(value):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 1e11 else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"\d{9,13}(\.\d+)?", text):
            return as_instant(float(text))
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def as_date(value: object) -> date | None:
    """DD/MM/YYYY (the API's order; MM/DD when the day cannot be a month), DD-MM-YYYY, ISO, epoch."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        instant = as_instant(value)
        return instant.date() if instant else None
    if not isinstance(value, str) or is_placeholder(value):
        return None
    text = value.strip()
    if m := _DMY.match(text):
        first, second, year = int(m[1]), int(m[2]), int(m[3])
        return _safe_date(year, second, first) or _safe_date(year, first, second)
    if m := _YMD.match(text):
        return _safe_date(int(m[1]), int(m[2]), int(m[3]))
    for fmt in _TEXT_DATES:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    instant = as_instant(text)
    return instant.date() if instant else None


def as_month(value: object) -> str | None:
    """`"Jan,22"`, `"January 2022"`, `"2022-01"`, `"01/2022"`, a date -> `"2022-01"`."""
    if isinstance(value, date):
        return f"{value:%Y-%m}"
    if not isinstance(value, str) or is_placeholder(value):
        return None
    text = value.strip()
    year = month = None
    if m := _MONTH_NAME.match(text):
        month = _MONTHS.get(m[1][:3].lower())
        year = int(m[2]) + (2000 if len(m[2]) == 2 else 0)
    elif m := _YEAR_MONTH.match(text):
        year, month = int(m[1]), int(m[2])
    elif m := _MONTH_YEAR.match(text):
        month, year = int(m[1]), int(m[2])
    else:
        day = as_date(text)
        return f"{day:%Y-%m}" if day else None
    if month is None or not 1 <= month <= 12:
        return None
    return f"{year:04d}-{month:02d}"


def as_bool(value: object) -> bool | None:
    """Booleans, 0/1 and yes/no style words; anything else None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value) if value in (0, 1) else None
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    return None

"""The rules every shaping of a domain model into a compact result follows, and the one PII redaction mechanism.

Each resource's own shaping lives with its tool (`tools/resources/`) and applies these rules, written here and
nowhere else: placeholders (`""`, `" "`, "Not available", ...: the client's one rule,
`values.is_placeholder`) become absent; a description equal to its name is dropped; duplicate items (same
id) appear once; an amount is a number rounded to cents and the currency the API stated for it travels beside
it, to be said once per result; an unknown figure stays absent, never 0; dates are ISO 8601; flags that are
false and quantities of 1 are left out. `redact` masks personal data in a finished result (see its docstring);
`results.py` applies it to every tool result when `CDP_REDACT_PII=true`.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from cdp_mcp.client.models import Money
from cdp_mcp.client.values import is_placeholder

__all__ = [
    "REDACTED",
    "age_band",
    "clean",
    "distinct",
    "iso",
    "lower",
    "money",
    "redact",
]

REDACTED = "[redacted]"
_PII_KEY = re.compile(r"e-?mail|mobile|phone|address|dob|birth", re.IGNORECASE)
_YEAR = re.compile(r"^\d{4}")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def clean(value: str | None) -> str | None:
    """The text, stripped, or None for empty and placeholder values."""
    if value is None:
        return None
    return None if is_placeholder(value) else value.strip()


def distinct(value: str | None, *others: str | None) -> str | None:
    """`value` unless it is a placeholder or repeats one of `others` (a description equal to the name)."""
    text = clean(value)
    if text is None:
        return None
    seen = {other.casefold() for x in others if (other := clean(x))}
    return None if text.casefold() in seen else text


def money(value: Money | None) -> float | None:
    """An amount as the results publish it: a number rounded to cents (its currency is said once per result)."""
    return None if value is None else round(value.amount, 2)


def iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def age_band(age: int | None) -> str | None:
    """A ten-year band, which is what a person usually needs and is less identifying than a birth date."""
    if age is None or age < 0:
        return None
    low = age // 10 * 10
    return f"{low}-{low + 9}"


def lower(value: str | None) -> str | None:
    """The text in lower case (channels: as consent and screen_customers spell them), or None."""
    text = clean(value)
    return text.lower() if text else None


def _masked(key: str, value: str) -> str:
    """A personal value under `key`: a birth date keeps its year, anything else is masked."""
    year = _YEAR.match(value) if ("birth" in key.lower() or "dob" in key.lower()) else None
    return year.group(0) if year else REDACTED


def redact(data: Any) -> Any:
    """Mask personal data in a JSON-ready result: the one redaction mechanism (CDP_REDACT_PII).

    Any string value under a key naming an email, mobile/phone, address or birth date is masked, at any
    depth and whatever the upstream spelling (`email`, `emailAddress`, `residenceAddress`, `dob`); a birth
    date keeps its year. Custom attributes are published as `{name: value}`, so their names are judged the
    same way. An email address anywhere else in a text is masked too. Booleans and numbers under such keys (a consent
    flag keyed `email`) are kept.
    """
    if isinstance(data, list):
        return [redact(item) for item in data]
    if isinstance(data, str):
        return _EMAIL.sub(REDACTED, data)
    if not isinstance(data, dict):
        return data
    return {key: _masked(key, value) if isinstance(value, str) and _PII_KEY.search(key) else redact(value)
            for key, value in data.items()}

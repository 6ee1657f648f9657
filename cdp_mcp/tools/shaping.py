"""Domain models -> compact results, and the one PII redaction mechanism.

Rules, applied here and nowhere else: placeholders (`""`, `" "`, "Not available", ...: the client's one rule,
`values.is_placeholder`) become absent; a
description equal to its name is dropped; duplicate items (same id) appear once; money is `{amount,
currency}`; dates are ISO 8601. `redact` masks personal data in a finished result (see its docstring);
`results.py` applies it to every tool result when `CDP_REDACT_PII=true`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable
from datetime import date
from typing import Any, TypeVar, overload

from cdp_mcp.client import models as m
from cdp_mcp.client.values import is_placeholder
from cdp_mcp.tools import outputs as o

__all__ = [
    "REDACTED",
    "activity_item",
    "affinity_chart",
    "age_band",
    "attribute_item",
    "campaign_item",
    "clean",
    "consents",
    "distinct",
    "iso",
    "money",
    "profile",
    "purchase_item",
    "recommendation",
    "redact",
    "segment_item",
    "trends",
    "unique",
]

_T = TypeVar("_T")
REDACTED = "[redacted]"
_PII_KEY = re.compile(r"e-?mail|mobile|phone|address|dob|birth", re.IGNORECASE)
_YEAR = re.compile(r"^\d{4}")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
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


def unique(items: Iterable[_T], key: Callable[[_T], Hashable]) -> list[_T]:
    """Items in order, the first of each key kept."""
    seen: set[Hashable] = set()
    out: list[_T] = []
    for item in items:
        k = key(item)
        if k not in seen:
            seen.add(k)
            out.append(item)
    return out


@overload
def money(value: m.Money) -> o.MoneyOut: ...
@overload
def money(value: m.Money | None) -> o.MoneyOut | None: ...
def money(value: m.Money | None) -> o.MoneyOut | None:
    return None if value is None else o.MoneyOut(amount=round(value.amount, 2), currency=value.currency)


def iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def age_band(age: int | None) -> str | None:
    """A ten-year band, which is what a person usually needs and is less identifying than a birth date."""
    if age is None or age < 0:
        return None
    low = age // 10 * 10
    return f"{low}-{low + 9}"


def _snake(key: str) -> str:
    """An upstream field name in the results' spelling: `preferredChannel` -> `preferred_channel`."""
    return _CAMEL.sub("_", key.strip()).lower().replace(" ", "_")


def profile(p: m.Profile, gcr_id: int | None = None) -> o.CustomerProfile:
    full = clean(p.full_name)
    salutation = clean(p.salutation)
    name = f"{salutation} {full}" if salutation and full and not full.startswith(salutation) else full
    extra = {_snake(k): (clean(v) if isinstance(v, str) else v) for k, v in p.extra.items()}
    more = {k: v for k, v in extra.items() if v is not None}
    return o.CustomerProfile(
        gcr_id=p.gcr_id or gcr_id, customer_id=clean(p.customer_id), name=name, gender=clean(p.gender), age=p.age,
        age_band=age_band(p.age), birth_date=iso(p.birth_date), tier=clean(p.membership_tier),
        status_color=clean(p.status_color), city=clean(p.city), state=clean(p.state), address=clean(p.address),
        email=clean(p.email), mobile=clean(p.mobile), customer_code=clean(p.customer_code),
        total_sales=money(p.total_sales), total_orders=p.total_orders, average_basket=money(p.average_basket),
        total_visits=p.total_visits, total_web_sessions=p.total_web_sessions,
        days_since_last_purchase=p.days_since_last_purchase, more=more or None,
    )


def _cleaned(model: m.DomainModel, *keep: str) -> dict[str, Any]:
    """The model's fields with placeholder strings removed (fields in `keep` untouched)."""
    return {k: (clean(v) if isinstance(v, str) and k not in keep else v) for k, v in model}


def segment_item(s: m.Segment) -> o.SegmentItem:
    name = clean(s.name)
    return o.SegmentItem(**_cleaned(s, "id") | {"description": distinct(s.description, name, s.id),
                                                "category": distinct(s.category, name)})


def campaign_item(c: m.Campaign) -> o.CampaignItem:
    """Channel in lower case, as consent and screen_customers spell it, so a model can compare them."""
    channel = clean(c.channel)
    return o.CampaignItem(**_cleaned(c, "id") | {"channel": channel.lower() if channel else None})


def recommendation(r: m.RecommendedProduct) -> o.Recommendation:
    name = clean(r.name)
    code = clean(r.product_code) or clean(r.product_key)
    return o.Recommendation(product_code=code, product_name=name, description=distinct(r.description, name),
                            price=money(r.price))


def activity_item(e: m.ActivityEvent) -> o.ActivityItem:
    kind = clean(e.type)
    channel = clean(e.channel)
    return o.ActivityItem(date=e.occurred_on.isoformat(), type=kind, channel=channel.lower() if channel else None,
                          description=distinct(e.description, kind), amount=money(e.amount))


def trends(t: m.PurchaseTrends, gcr_id: int | None) -> o.Trends:
    """Months and their totals; a total over a month whose figure is unknown is unknown too (never a guess)."""
    months = [o.TrendMonth(month=p.month, orders=p.orders, order_value=money(p.order_value))
              for p in t.points]
    orders = [p.orders for p in t.points]
    values = [p.order_value for p in t.points]
    known_values = [v for v in values if v is not None]
    currency = next((v.currency for v in known_values), None)
    total = o.MoneyOut(amount=round(sum(v.amount for v in known_values), 2), currency=currency)
    return o.Trends(gcr_id=gcr_id, months=months,
                    total_orders=sum(n for n in orders if n is not None) if None not in orders else None,
                    total_value=total if months and len(known_values) == len(values) else None)


def purchase_item(p: m.Purchase) -> o.PurchaseItem:
    return o.PurchaseItem(**_cleaned(p) | {"order_value": money(p.order_value)})


def affinity_chart(c: m.AffinityChart, limit: int) -> o.AffinityTop:
    points = sorted(unique(c.points, key=lambda p: p.label), key=lambda p: -p.value)
    title = clean(c.title)
    return o.AffinityTop(title=title, measure=distinct(c.y_label, title),
                         top={p.label: round(p.value, 3) for p in points[:limit]}, total=len(points))


def attribute_item(a: m.Attribute) -> o.AttributeItem:
    value = clean(a.value) if isinstance(a.value, str) else a.value
    return o.AttributeItem(name=a.name, value=value)


def consents(c: m.Consents, gcr_id: int | None) -> o.ConsentOut:
    channels = [
        o.ConsentItem(channel=ch.channel.lower(), opted_in=ch.opted_in,
                      categories=unique([x for x in (clean(y) for y in ch.categories) if x], key=str.casefold) or None)
        for ch in unique(c.channels, key=lambda ch: ch.channel.lower())
    ]
    return o.ConsentOut(gcr_id=gcr_id, channels=channels, contactable_on=[ch.channel for ch in channels if ch.opted_in])


def _masked(key: str, value: str) -> str:
    """A personal value under `key`: a birth date keeps its year, anything else is masked."""
    year = _YEAR.match(value) if ("birth" in key.lower() or "dob" in key.lower()) else None
    return year.group(0) if year else REDACTED


def redact(data: Any) -> Any:
    """Mask personal data in a JSON-ready result: the one redaction mechanism (CDP_REDACT_PII).

    Any string value under a key naming an email, mobile/phone, address or birth date is masked, at any
    depth and whatever the upstream spelling (`email`, `emailAddress`, `residenceAddress`, `dob`); a birth
    date keeps its year. A `{name, value}` pair (a custom attribute) is judged by its name the same way.
    An email address anywhere else in a text is masked too. Booleans and numbers under such keys (a consent
    flag keyed `email`) are kept.
    """
    if isinstance(data, list):
        return [redact(item) for item in data]
    if isinstance(data, str):
        return _EMAIL.sub(REDACTED, data)
    if not isinstance(data, dict):
        return data
    out: dict[str, Any] = {}
    for key, value in data.items():
        out[key] = _masked(key, value) if isinstance(value, str) and _PII_KEY.search(key) else redact(value)
    name, value = data.get("name"), data.get("value")
    if isinstance(name, str) and isinstance(value, str) and _PII_KEY.search(name):
        out["value"] = _masked(name, value)
    return out

"""Domain models -> compact results, and the one PII redaction mechanism.

Rules, applied here and nowhere else: placeholders (`""`, `" "`, "Not available", ...: the client's one rule,
`values.is_placeholder`) become absent; a description equal to its name is dropped; duplicate items (same
id) appear once; an amount is a number rounded to cents and the currency the API stated for it travels beside
it, to be said once per result; an unknown figure stays absent, never 0; dates are ISO 8601; flags that are
false and quantities of 1 are left out. `redact` masks personal data in a finished result (see its docstring);
`results.py` applies it to every tool result when `CDP_REDACT_PII=true`.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, TypeVar

from cdp_mcp.client import models
from cdp_mcp.client.values import is_placeholder
from cdp_mcp.tools import outputs
from cdp_mcp.tools.outputs import currency_of, unique

__all__ = [
    "REDACTED",
    "activity_item",
    "affinity",
    "affinity_chart",
    "age_band",
    "attribute_item",
    "campaign_item",
    "clean",
    "consents",
    "distinct",
    "full_name",
    "iso",
    "money",
    "profile",
    "purchase_item",
    "recommendation",
    "redact",
    "segment_item",
    "trends",
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


def money(value: models.Money | None) -> float | None:
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


def _snake(key: str) -> str:
    """An upstream field name in the results' spelling: `preferredChannel` -> `preferred_channel`."""
    return _CAMEL.sub("_", key.strip()).lower().replace(" ", "_")


def full_name(p: models.Profile) -> str | None:
    """The name with its salutation (`Ms. Ada Lovelace`), unless the full name already starts with it."""
    full = clean(p.full_name)
    salutation = clean(p.salutation)
    return f"{salutation} {full}" if salutation and full and not full.startswith(salutation) else full


def profile(p: models.Profile, gcr_id: int | None = None) -> outputs.CustomerProfile:
    extra = {_snake(k): (clean(v) if isinstance(v, str) else v) for k, v in p.extra.items()}
    more = {k: v for k, v in extra.items() if v is not None}
    return outputs.CustomerProfile(
        gcr_id=gcr_id, currency=currency_of(p.total_sales, p.average_basket),
        customer_id=distinct(p.customer_id, str(gcr_id) if gcr_id is not None else None), name=full_name(p),
        gender=clean(p.gender), age=p.age, birth_date=iso(p.birth_date), tier=clean(p.membership_tier),
        status_color=clean(p.status_color), city=clean(p.city), state=clean(p.state), address=clean(p.address),
        email=clean(p.email),
        mobile=clean(p.mobile), customer_code=clean(p.customer_code), total_sales=money(p.total_sales),
        orders=p.total_orders, average_basket=money(p.average_basket), visits=p.total_visits,
        web_sessions=p.total_web_sessions, days_since_last_purchase=p.days_since_last_purchase, more=more or None,
    )


def _lower(value: str | None) -> str | None:
    text = clean(value)
    return text.lower() if text else None


def segment_item(s: models.Segment) -> outputs.SegmentItem:
    name = clean(s.name)
    return outputs.SegmentItem(id=s.id, name=name, category=distinct(s.category, name), joined=iso(s.joined_on),
                         description=distinct(s.description, name, s.id))


def campaign_item(c: models.Campaign) -> outputs.CampaignItem:
    """Channel in lower case, as consent and screen_customers spell it, so a model can compare them."""
    return outputs.CampaignItem(id=c.id, name=clean(c.name), channel=_lower(c.channel), status=clean(c.status),
                          segment_id=clean(c.segment_id), sent=iso(c.sent_on), start_date=iso(c.start_date),
                          end_date=iso(c.end_date), opened=c.opened or None, clicked=c.clicked or None)


def recommendation(r: models.RecommendedProduct) -> outputs.Recommendation:
    name = clean(r.name)
    return outputs.Recommendation(code=clean(r.product_code) or clean(r.product_key) or name, name=name,
                            price=money(r.price), currency=currency_of(r.price))


def activity_item(e: models.ActivityEvent) -> outputs.ActivityItem:
    """The event in the API's words: its description, or its type when it has none."""
    return outputs.ActivityItem(date=e.occurred_on.isoformat(), event=clean(e.description) or clean(e.type),
                          channel=_lower(e.channel), amount=money(e.amount), currency=currency_of(e.amount))


def trends(t: models.PurchaseTrends, gcr_id: int | None) -> outputs.Trends:
    """Months and their totals; a total over a month whose figure is unknown is unknown too (never a guess)."""
    months = {p.month: outputs.Figures(orders=p.orders,
                                 sales=round(p.order_value.amount, 2) if p.order_value is not None else None)
              for p in t.points}
    orders = [p.orders for p in t.points]
    values = [p.order_value for p in t.points]
    total = outputs.Figures(orders=sum(n for n in orders if n is not None) if None not in orders else None,
                      sales=round(sum(v.amount for v in values if v is not None), 2) if None not in values else None)
    return outputs.Trends(gcr_id=gcr_id, currency=currency_of(*values), months=months, total=total if months else None)


def purchase_item(p: models.Purchase) -> outputs.PurchaseItem:
    return outputs.PurchaseItem(order_id=clean(p.order_id), date=iso(p.order_date), product_code=clean(p.product_code),
                          name=clean(p.product_name), category=clean(p.category),
                          quantity=p.quantity if p.quantity != 1 else None, amount=money(p.order_value),
                          currency=currency_of(p.order_value))


def affinity_chart(c: models.AffinityChart, limit: int) -> outputs.AffinityTop:
    points = sorted(unique(c.points, key=lambda p: p.label), key=lambda p: -p.value)
    title = clean(c.title)
    return outputs.AffinityTop(title=title, measure=distinct(c.y_label, title),
                         top={p.label: round(p.value, 3) for p in points[:limit]}, total=len(points))


def affinity(a: models.Affinity, gcr_id: int | None, limit: int) -> outputs.AffinityOut:
    """One `{label: score}` map per chart title (top `limit`), the measure said once when the charts share it."""
    charts = [affinity_chart(c, limit) for c in a.charts]
    titles = [c.title or f"chart {i + 1}" for i, c in enumerate(charts)]
    measures = {t: c.measure for t, c in zip(titles, charts, strict=True) if c.measure}
    shared = set(measures.values())
    return outputs.AffinityOut(
        gcr_id=gcr_id, measure=next(iter(shared)) if len(shared) == 1 else None,
        measures=measures if len(shared) > 1 else None,
        charts={t: c.top for t, c in zip(titles, charts, strict=True)},
        not_shown={t: c.total - len(c.top) for t, c in zip(titles, charts, strict=True) if c.total > len(c.top)}
        or None)


def attribute_item(a: models.Attribute) -> outputs.AttributeItem:
    value = clean(a.value) if isinstance(a.value, str) else a.value
    return outputs.AttributeItem(name=a.name, value=value)


def consents(c: models.Consents, gcr_id: int | None) -> outputs.ConsentOut:
    channels = unique(c.channels, key=lambda ch: ch.channel.lower())
    categories = {ch.channel.lower(): cats for ch in channels
                  if (cats := unique([x for x in (clean(y) for y in ch.categories) if x], key=str.casefold))}
    return outputs.ConsentOut(gcr_id=gcr_id, contactable_on=[ch.channel.lower() for ch in channels if ch.opted_in],
                        not_contactable_on=[ch.channel.lower() for ch in channels if not ch.opted_in],
                        categories=categories or None)


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

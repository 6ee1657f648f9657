"""The compact result models every tool returns: their JSON schema is each tool's output schema.

Shaped for a model, not mirrored from upstream: ids, names and figures a person asks about; money as
`{amount, currency}`; dates as ISO 8601 strings; optional fields absent rather than null. Every result
starts with the customer's `gcr_id`, so follow-up calls can use the cheapest identifier, and every list
says `total` and, when more exist, `remaining` and an opaque `next_cursor`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from cdp_mcp.client import models as m

__all__ = [
    "OUTPUT_CONFIG",
    "Activities",
    "ActivityItem",
    "AffinityOut",
    "AffinityTop",
    "AttributeItem",
    "Attributes",
    "CampaignItem",
    "Campaigns",
    "ConsentItem",
    "ConsentOut",
    "CustomerMatch",
    "CustomerProfile",
    "Listing",
    "MoneyOut",
    "Out",
    "PurchaseItem",
    "Purchases",
    "Recommendation",
    "Recommendations",
    "Result",
    "SegmentCheck",
    "SegmentItem",
    "Segments",
    "TrendMonth",
    "Trends",
    "compact_property",
    "compact_schema",
    "tidy_schema",
]

def compact_property(prop: dict[str, Any]) -> None:
    """Publish an optional `X | None = None` property as plain `X`: no `null` branch, no null default.

    Results never contain nulls (absent fields are left out) and an omitted argument means None, so the
    `null` branches only cost context-window space.
    """
    prop.pop("title", None)
    if "default" in prop and prop["default"] is None:
        del prop["default"]
    branches = prop.get("anyOf")
    if branches and {"type": "null"} in branches:
        rest = [b for b in branches if b != {"type": "null"}]
        del prop["anyOf"]
        prop.update(rest[0] if len(rest) == 1 else {"anyOf": rest})


def compact_schema(schema: dict[str, Any], _: type[BaseModel] | None = None) -> None:
    """Trim a result model's schema for the context window: no generated titles, no `null` branches, no class
    docstring (written for developers; fields carry the descriptions) and no `additionalProperties: false`
    (results are built by cdp-mcp, so the model never needs that guarantee)."""
    schema.pop("title", None)
    schema.pop("description", None)
    if schema.get("additionalProperties") is False:
        del schema["additionalProperties"]
    for prop in schema.get("properties", {}).values():
        compact_property(prop)


def tidy_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A generated input schema without what only costs context: titles, `null` branches, null defaults.

    Applied recursively (properties, `$defs`, array items, unions). Property *names* are never touched, only
    schema keywords; validation is unchanged because the SDK validates arguments with the pydantic model.
    """
    node = dict(schema)
    compact_property(node)
    for key in ("properties", "$defs"):
        if isinstance(node.get(key), dict):
            node[key] = {name: tidy_schema(sub) for name, sub in node[key].items()}
    if isinstance(node.get("items"), dict):
        node["items"] = tidy_schema(node["items"])
    for key in ("anyOf", "oneOf", "allOf"):
        if isinstance(node.get(key), list):
            node[key] = [tidy_schema(sub) for sub in node[key]]
    return node


OUTPUT_CONFIG = ConfigDict(frozen=True, extra="forbid", json_schema_extra=compact_schema)


class Out(BaseModel):
    """Base of every output model and item."""

    model_config = OUTPUT_CONFIG


_GCR = Field(None, description="The customer's gcr_id: use it in follow-up calls")
_DATE = "ISO 8601 date"


class Result(Out):
    """Base of every result: frozen, no unknown keys, and the customer's gcr_id first."""

    gcr_id: int | None = _GCR


class MoneyOut(Out):
    """Money as the model reads it; the same fields as `models.Money`, without repeating their descriptions."""

    amount: float
    currency: str | None = Field(None, description="ISO 4217 code, e.g. USD; absent until the API states it")


class Listing(Result):
    """A capped list: how many exist, how many more after this page, and the cursor to get them."""

    total: int | None = Field(None, description="Items in all")
    remaining: int | None = Field(None, description="Items after this page")
    next_cursor: str | None = Field(None, description="Pass as cursor for the next page; absent on the last")


class CustomerProfile(Result):
    customer_id: str | None = Field(None, description="The tenant's internal customer id")
    name: str | None = Field(None, description="Full name with salutation")
    gender: str | None = None
    age: int | None = None
    age_band: str | None = Field(None, description="Ten-year band, e.g. 30-39")
    birth_date: str | None = Field(None, description=f"{_DATE}; only the year when PII is redacted")
    tier: str | None = Field(None, description="Membership tier")
    status_color: str | None = None
    city: str | None = None
    state: str | None = None
    address: str | None = None
    email: str | None = None
    mobile: str | None = None
    customer_code: str | None = None
    total_sales: MoneyOut | None = None
    total_orders: int | None = None
    average_basket: MoneyOut | None = None
    total_visits: int | None = None
    total_web_sessions: int | None = None
    days_since_last_purchase: int | None = None
    more: dict[str, str | int | float | bool] | None = Field(None, description="Further fields the tenant exposes")


class SegmentItem(m.Segment):
    model_config = OUTPUT_CONFIG

    id: str = Field(description="Segment id, usable as segment_id")


class Segments(Listing):
    items: list[SegmentItem]


class SegmentCheck(Result):
    segment_id: str
    in_segment: bool


class CampaignItem(m.Campaign):
    model_config = OUTPUT_CONFIG


class Campaigns(Listing):
    items: list[CampaignItem]


class Recommendation(Out):
    product_code: str | None = None
    product_name: str | None = None
    description: str | None = None
    price: MoneyOut | None = None


class Recommendations(Listing):
    items: list[Recommendation]
    source: str | None = Field(None, description="What the recommendations derive from")


class ActivityItem(Out):
    date: str = Field(description=_DATE)
    type: str | None = None
    channel: str | None = None
    description: str | None = None
    amount: MoneyOut | None = None


class Activities(Listing):
    items: list[ActivityItem] = Field(description="Newest first")


class TrendMonth(Out):
    month: str = Field(description="YYYY-MM")
    orders: int | None = None  # absent when the API did not state it: unknown, not 0
    order_value: MoneyOut | None = None


class Trends(Result):
    months: list[TrendMonth] = Field(description="Oldest month first")
    total_orders: int | None = Field(None, description="Orders over the months shown; absent when a month's is unknown")
    total_value: MoneyOut | None = Field(None, description="Order value over the months shown; absent when a "
                                                           "month's is unknown")


class PurchaseItem(m.Purchase):
    model_config = OUTPUT_CONFIG

    order_value: MoneyOut | None = None  # type: ignore[assignment]  # the output twin of models.Money


class Purchases(Listing):
    items: list[PurchaseItem] = Field(description="Newest first")


class AffinityTop(Out):
    title: str | None = Field(None, description="What the scores rank, e.g. category, brand, channel")
    measure: str | None = None
    top: dict[str, float] = Field(description="Label -> score, highest first, capped by limit")
    total: int = Field(description="How many labels the chart has")


class AffinityOut(Result):
    charts: list[AffinityTop]


class AttributeItem(Out):
    name: str
    value: str | int | float | bool | None = None


class Attributes(Listing):
    items: list[AttributeItem]


class CustomerMatch(Result):
    found: bool = Field(description="False when no customer matches the identifiers")
    verified: bool | None = Field(None, description="false: the gcr_id was given and could not be checked")


class ConsentItem(Out):
    channel: str = Field(description="email, sms, push, whatsapp, ...")
    opted_in: bool
    categories: list[str] | None = Field(None, description="Consent categories agreed to")


class ConsentOut(Result):
    channels: list[ConsentItem]
    contactable_on: list[str] = Field(description="Channels the customer opted in to")

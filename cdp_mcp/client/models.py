"""Normalised domain models of the API resources: what the client returns and the tools shape.

Upstream quirks end here: `customerId` string or integer becomes a string, money strings such as
`"$ 55.9"` become `Money(amount=55.9, currency="USD")`, the date formats become `datetime.date` (ISO 8601
in JSON), placeholders (`""`, `" "`, "Not available") become `None`. Field names are ours, snake_case,
stable across tenants whatever spelling the upstream used. Optional fields are `None` when absent (unknown,
never a made-up 0) and are dropped from tool results (`exclude_none`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Activity",
    "ActivityEvent",
    "Affinity",
    "AffinityChart",
    "AffinityPoint",
    "Attribute",
    "AttributePage",
    "Campaign",
    "CampaignPage",
    "ChannelConsent",
    "Consents",
    "DomainModel",
    "GcrMatch",
    "Membership",
    "Money",
    "PageInfo",
    "PageRequest",
    "Profile",
    "Purchase",
    "PurchasePage",
    "PurchaseTrends",
    "Recommendations",
    "RecommendedProduct",
    "Segment",
    "SegmentPage",
    "TrendPoint",
]


class DomainModel(BaseModel):
    """Base: frozen, extra keys forbidden (upstream extras are recognised or dropped by the parser)."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)  # built on first use: not at start-up


class Money(DomainModel):
    amount: float = Field(description="Amount as a number")
    currency: str | None = Field(None, description="ISO 4217 code when known (USD for '$'), else the symbol")


class PageRequest(DomainModel):
    """One page to ask for, in whichever paging style the resource uses (see catalog.Paging)."""

    page: int | None = Field(None, ge=1)
    page_size: int | None = Field(None, ge=1, le=1000)
    last_key: dict[str, Any] | None = None


class PageInfo(DomainModel):
    """Paging facts of a response: the total when stated, and the request for the next page if any."""

    total: int | None = None
    next: PageRequest | None = None


class Profile(DomainModel):
    customer_id: str | None = None
    gcr_id: int | None = None
    salutation: str | None = None
    full_name: str | None = None
    gender: str | None = None
    age: int | None = None
    birth_date: date | None = None
    membership_tier: str | None = None
    status_color: str | None = None
    city: str | None = None
    state: str | None = None
    address: str | None = None
    email: str | None = None
    mobile: str | None = None
    customer_code: str | None = None
    image_url: str | None = None
    total_sales: Money | None = None
    total_orders: int | None = None
    average_basket: Money | None = None
    total_visits: int | None = None
    days_since_last_purchase: int | None = None
    total_web_sessions: int | None = None
    extra: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="Further scalar profile fields the tenant exposes, by upstream name"
    )


class Segment(DomainModel):
    id: str
    name: str | None = None
    description: str | None = None
    category: str | None = None
    joined_on: date | None = None


class SegmentPage(DomainModel):
    customer_id: str | None = None
    items: list[Segment]
    page: PageInfo


class Membership(DomainModel):
    in_segment: bool


class Campaign(DomainModel):
    id: str
    name: str | None = None
    channel: str | None = None
    status: str | None = None
    segment_id: str | None = None
    start_date: date | None = None
    end_date: date | None = None
    sent_on: date | None = None
    opened: bool | None = None
    clicked: bool | None = None


class CampaignPage(DomainModel):
    customer_id: str | None = None
    items: list[Campaign]
    page: PageInfo


class RecommendedProduct(DomainModel):
    product_code: str | None = None
    product_key: str | None = None
    name: str | None = None
    description: str | None = None
    image_url: str | None = None
    price: Money | None = None


class Recommendations(DomainModel):
    customer_id: str | None = None
    items: list[RecommendedProduct]
    total: int | None = None
    source: str | None = Field(None, description="What the recommendations derive from, when the API says")


class ActivityEvent(DomainModel):
    id: str | None = None
    occurred_on: date
    type: str | None = None
    channel: str | None = None
    description: str | None = None
    amount: Money | None = None


class Activity(DomainModel):
    customer_id: str | None = None
    items: list[ActivityEvent] = Field(description="Newest first")


class TrendPoint(DomainModel):
    month: str = Field(description="YYYY-MM")
    orders: int | None = Field(None, description="None when the API did not state it")
    order_value: Money | None = Field(None, description="None when the API did not state it")


class PurchaseTrends(DomainModel):
    customer_id: str | None = None
    title: str | None = None
    points: list[TrendPoint] = Field(description="Oldest month first")


class Purchase(DomainModel):
    order_id: str | None = None
    product_code: str | None = None
    product_name: str | None = None
    category: str | None = None
    quantity: int | None = None
    order_value: Money | None = None
    order_date: date | None = None


class PurchasePage(DomainModel):
    customer_id: str | None = None
    items: list[Purchase]
    page: PageInfo


class AffinityPoint(DomainModel):
    label: str
    value: float


class AffinityChart(DomainModel):
    title: str | None = None
    x_label: str | None = None
    y_label: str | None = None
    points: list[AffinityPoint] = Field(description="Highest value first")


class Affinity(DomainModel):
    customer_id: str | None = None
    charts: list[AffinityChart]
    total: int | None = None


class Attribute(DomainModel):
    name: str
    value: str | int | float | bool | None = None
    type: str | None = None


class AttributePage(DomainModel):
    customer_id: str | None = None
    items: list[Attribute]
    page: PageInfo


class GcrMatch(DomainModel):
    """The resolved Golden Customer Record; `found` is False for the API's -1 / "Not available"."""

    found: bool
    gcr_id: int | None = None


class ChannelConsent(DomainModel):
    channel: str = Field(description="email, sms, push, whatsapp, ... (lower case)")
    channel_id: str | None = None
    opted_in: bool
    categories: list[str] = Field(default_factory=list, description="Consent categories the customer agreed to")


class Consents(DomainModel):
    channels: list[ChannelConsent]

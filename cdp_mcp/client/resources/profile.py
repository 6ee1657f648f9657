"""basic: the customer's profile card."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from cdp_mcp import wire
from cdp_mcp.catalog import Resource, Scope
from cdp_mcp.client.models import DomainModel, Money, PageRequest
from cdp_mcp.client.reading import Reader, need_dict
from cdp_mcp.client.recognise import Item
from cdp_mcp.client.values import is_placeholder, is_scalar

__all__ = ["BASIC", "Profile", "read_profile"]

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


_SPECIAL = frozenset({"gcr_id"})  # read below: a gcr_id must be positive
_TEXT, _INTEGER = (tuple(name for name, info in Profile.model_fields.items()
                         if info.annotation == kind | None and name not in _SPECIAL)
                   for kind in (str, int))
"""The profile's plain text and whole-number fields, as `Profile` declares them (in its order)."""


def read_profile(resource: Resource, data: object, _page: PageRequest | None) -> Profile:
    """The profile card; a missing field (even `customerId`) is absent, the rest of the card stands."""
    item = Item(need_dict(resource, data), declared=wire.BasicData)
    fields: dict[str, object] = {name: item.text(name) for name in _TEXT}
    fields |= {name: item.integer(name) for name in _INTEGER}
    gcr_id = item.integer("gcr_id")  # undocumented in basic: read when a tenant sends it
    fields |= {"gcr_id": gcr_id if gcr_id and gcr_id > 0 else None, "birth_date": item.day("birth_date"),
               "total_sales": item.money("total_sales"), "average_basket": item.money("average_basket")}
    # After every meaning has claimed its key: what is left is the tenant's own fields.
    extra = {name: value for name, value in item.unused() if is_scalar(value) and not is_placeholder(value)}
    return Profile.model_validate({**fields, "extra": extra})  # the fields by name, as Profile declares them


BASIC = Reader(Scope.BASIC, read_profile)

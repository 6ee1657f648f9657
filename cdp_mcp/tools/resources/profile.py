"""basic as the get_customer_profile tool: the profile card, shaped."""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar

from pydantic import Field

from cdp_mcp import wire
from cdp_mcp.client.resources.profile import BASIC, Profile
from cdp_mcp.tools.kinds import LeftOut, SingleTool
from cdp_mcp.tools.origins import further, wired
from cdp_mcp.tools.outputs import Number, Priced, Result, Withholds, currency_of
from cdp_mcp.tools.shaping import clean, distinct, iso, money

__all__ = ["GET_CUSTOMER_PROFILE", "CustomerProfile", "full_name", "profile"]


def _basic(*meanings: str) -> Any:
    return wired(wire.BasicData, *meanings)


class CustomerProfile(Result, Priced, Withholds):
    amount_keys: ClassVar[frozenset[str]] = frozenset({"total_sales", "average_basket"})

    customer_id: Annotated[str | None, _basic("customer_id")] = Field(
        None, description="The tenant's id, when not the gcr_id")
    name: Annotated[str | None, _basic("full_name", "salutation")] = None
    gender: Annotated[str | None, _basic("gender")] = None
    age: int | None = None
    birth_date: Annotated[str | None, _basic("birth_date")] = None
    tier: Annotated[str | None, _basic("membership_tier")] = None
    status_color: Annotated[str | None, _basic("status_color")] = None
    city: Annotated[str | None, _basic("city")] = None
    state: Annotated[str | None, _basic("state")] = None
    address: Annotated[str | None, _basic("address")] = None
    email: Annotated[str | None, _basic("email")] = None
    mobile: Annotated[str | None, _basic("mobile")] = None
    customer_code: Annotated[str | None, _basic("customer_code")] = None
    total_sales: Number | None = None
    orders: int | None = None
    average_basket: Number | None = None
    visits: int | None = None
    web_sessions: int | None = None
    days_since_last_purchase: int | None = None
    more: Annotated[dict[str, str | int | float | bool] | None, further(wire.BasicData)] = None


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _snake(key: str) -> str:
    """An upstream field name in the results' spelling: `preferredChannel` -> `preferred_channel`."""
    return _CAMEL.sub("_", key.strip()).lower().replace(" ", "_")


def full_name(p: Profile) -> str | None:
    """The name with its salutation (`Ms. Ada Lovelace`), unless the full name already starts with it."""
    full = clean(p.full_name)
    salutation = clean(p.salutation)
    return f"{salutation} {full}" if salutation and full and not full.startswith(salutation) else full


def profile(p: Profile, gcr_id: int | None = None) -> CustomerProfile:
    extra = {_snake(k): (clean(v) if isinstance(v, str) else v) for k, v in p.extra.items()}
    more = {k: v for k, v in extra.items() if v is not None}
    return CustomerProfile(
        gcr_id=gcr_id, currency=currency_of(p.total_sales, p.average_basket),
        customer_id=distinct(p.customer_id, str(gcr_id) if gcr_id is not None else None), name=full_name(p),
        gender=clean(p.gender), age=p.age, birth_date=iso(p.birth_date), tier=clean(p.membership_tier),
        status_color=clean(p.status_color), city=clean(p.city), state=clean(p.state), address=clean(p.address),
        email=clean(p.email),
        mobile=clean(p.mobile), customer_code=clean(p.customer_code), total_sales=money(p.total_sales),
        orders=p.total_orders, average_basket=money(p.average_basket), visits=p.total_visits,
        web_sessions=p.total_web_sessions, days_since_last_purchase=p.days_since_last_purchase, more=more or None,
    )


def _profile_card(data: Profile, gcr_id: int | None, _limit: int) -> Result:
    return profile(data, gcr_id)


GET_CUSTOMER_PROFILE = SingleTool(
    reader=BASIC, tool="get_customer_profile", title="Customer profile",
    description="The customer's profile card: name, tier, status colour, city, age, address, sales figures "
    "(total, orders, average basket, days since last purchase), the tenant's further fields. Start here for 'who "
    "is this customer?'.",
    output=CustomerProfile, shape=_profile_card,
    summary="who: name, tier, status colour, city, age, address, sales figures",
    left_out=LeftOut(("profileImageUrl",), "an image URL"),
)

"""get_customer_overview: one compact card from six resources fetched concurrently, each with its own token.

Each resource is fetched once, in parallel (the client asks the broker for a token scoped to exactly that
resource), and progress is reported as each arrives. A resource that fails, or that the tenant does not
grant, marks the sections built from it `unavailable` with the reason while the rest of the card is
returned; only when every fetch fails does the call fail, with the first error (an ambiguous customer,
say). Lists are cut to what a conversation needs, so a typical card stays well under 6 KB.
"""

from __future__ import annotations

from typing import Any

import anyio
from pydantic import Field

from cdp_mcp.catalog import Scope
from cdp_mcp.errors import CdpError
from cdp_mcp.tools import outputs as o
from cdp_mcp.tools import shaping
from cdp_mcp.tools.params import SECTIONS
from cdp_mcp.tools.spec import ToolCall
from cdp_mcp.tools.upstream import fetch, gcr_id_for, granted

__all__ = [
    "OVERVIEW_RESOURCES",
    "SECTION_RESOURCES",
    "Overview",
    "SegmentRef",
    "SegmentsCard",
    "Value",
    "Who",
    "overview",
]

SECTION_RESOURCES: dict[str, tuple[str, ...]] = {
    "who": (Scope.BASIC,),
    "value": (Scope.BASIC, Scope.PRODUCT_PURCHASE_TRENDS),
    "segments": (Scope.SEGMENTS,),
    "consent": (Scope.OPT_IN,),
    "affinities": (Scope.AFFINITY,),
    "recommendations": (Scope.RECOMMENDED_PRODUCTS,),
}
OVERVIEW_RESOURCES: tuple[str, ...] = tuple(dict.fromkeys(r for rs in SECTION_RESOURCES.values() for r in rs))
assert tuple(SECTION_RESOURCES) == SECTIONS
_TOP_SEGMENTS, _TOP_AFFINITIES, _TOP_RECOMMENDATIONS = 10, 3, 3
_NOT_GRANTED = "not granted to this tenant (CDP_RESOURCES)"


class _Card(o.Out):
    """A section of the card."""


class Who(_Card):
    name: str | None = None
    tier: str | None = None
    city: str | None = None
    age_band: str | None = None


class Value(_Card):
    total_sales: o.MoneyOut | None = None
    orders: int | None = None
    average_basket: o.MoneyOut | None = None
    days_since_last_purchase: int | None = None
    trend: list[o.TrendMonth] | None = Field(None, description="Orders and value per month, last 3 months")
    trend_direction: str | None = Field(None, description="up, down or flat: last month against the first")


class SegmentRef(_Card):
    id: str
    name: str | None = None


class SegmentsCard(_Card):
    total: int
    top: list[SegmentRef] = Field(description=f"Up to {_TOP_SEGMENTS} segments; list_customer_segments has all")


class Overview(o.Result):
    who: Who | None = None
    value: Value | None = None
    segments: SegmentsCard | None = None
    consent: dict[str, bool] | None = Field(None, description="Channel -> opted in")
    affinities: dict[str, list[str]] | None = Field(None, description="Chart -> top labels, highest first")
    recommendations: list[o.Recommendation] | None = Field(None, description="Top 3 recommended products")
    unavailable: dict[str, str] | None = Field(None, description="Section -> why it is missing from this card")


def _direction(months: list[o.TrendMonth]) -> str | None:
    if len(months) < 2 or months[0].order_value is None or months[-1].order_value is None:
        return None  # unknown is not zero: no direction from a month whose value the API did not state
    first, last = months[0].order_value.amount, months[-1].order_value.amount
    return "up" if last > first * 1.05 else "down" if last < first * 0.95 else "flat"


def _build(section: str, got: dict[str, Any]) -> Any:
    """One section from the fetched domain models (all of its resources present)."""
    if section == "who":
        card = shaping.profile(got[Scope.BASIC])
        return Who(name=card.name, tier=card.tier, city=card.city, age_band=card.age_band)
    if section == "value":
        card = shaping.profile(got[Scope.BASIC])
        trends = got.get(Scope.PRODUCT_PURCHASE_TRENDS)
        months = shaping.trends(trends, None).months if trends is not None else []
        return Value(total_sales=card.total_sales, orders=card.total_orders, average_basket=card.average_basket,
                     days_since_last_purchase=card.days_since_last_purchase, trend=months or None,
                     trend_direction=_direction(months))
    if section == "segments":
        page = got[Scope.SEGMENTS]
        items = [shaping.segment_item(s) for s in page.items]
        total = page.page.total if page.page.total is not None else len(items)
        return SegmentsCard(total=total, top=[SegmentRef(id=s.id, name=s.name) for s in items[:_TOP_SEGMENTS]])
    if section == "consent":
        return {c.channel: c.opted_in for c in shaping.consents(got[Scope.OPT_IN], None).channels}
    if section == "affinities":
        charts = [shaping.affinity_chart(c, _TOP_AFFINITIES) for c in got[Scope.AFFINITY].charts]
        return {(c.title or f"chart {i + 1}"): list(c.top) for i, c in enumerate(charts)}
    recs = [shaping.recommendation(r) for r in got[Scope.RECOMMENDED_PRODUCTS].items[:_TOP_RECOMMENDATIONS]]
    return [r.model_copy(update={"description": None}) for r in recs]


async def overview(call: ToolCall) -> Overview:
    """Fetch what the requested sections need, concurrently, and assemble the card."""
    identity = call.identity
    sections = [s for s in SECTIONS if s in (call.arguments.get("include") or SECTIONS)]
    wanted = [r for r in OVERVIEW_RESOURCES if any(r in SECTION_RESOURCES[s] for s in sections)]
    got: dict[str, Any] = {}
    failed: dict[str, str] = {}
    errors: list[CdpError] = []
    plan = [r for r in wanted if granted(call.settings, r)]
    failed.update({r: _NOT_GRANTED for r in wanted if r not in plan})
    done = 0

    async def one(resource: str) -> None:
        nonlocal done
        try:
            got[resource] = await fetch(call.backend, resource, identity)
        except CdpError as exc:
            errors.append(exc)
            failed[resource] = exc.for_model()
        done += 1
        await call.progress(done, len(plan), f"{resource} {'ready' if resource in got else 'unavailable'}")

    looked_up: list[int | None] = []

    async def lookup() -> None:
        looked_up.append(await gcr_id_for(call.backend, identity))

    async with anyio.create_task_group() as tg:
        for resource in plan:
            tg.start_soon(one, resource)
        tg.start_soon(lookup)  # given or cached: no request; else one gcr lookup beside the others
    if plan and not got and errors:
        raise errors[0]
    card: dict[str, Any] = {}
    unavailable: dict[str, str] = {}
    for section in sections:
        needs = SECTION_RESOURCES[section]
        missing = next((r for r in needs[:1] if r in failed), None)  # the first resource is essential
        if missing is not None:
            unavailable[section] = failed[missing]
            continue
        card[section] = _build(section, got)
        unavailable.update({f"{section}.trend": failed[r] for r in needs[1:] if r in failed})
    profile = got.get(Scope.BASIC)
    gcr_id = (profile.gcr_id if profile is not None else None) or (looked_up[0] if looked_up else None)
    return Overview(gcr_id=gcr_id, unavailable=unavailable or None, **card)

"""get_customer_overview: one compact card from six resources fetched concurrently, each with its own token.

Each resource is fetched once, in parallel (the client asks the broker for a token scoped to exactly that
resource), and progress is reported as each arrives. A resource that fails, or that the tenant does not
grant, marks the sections built from it `unavailable` with the reason while the rest of the card is
returned; only when every fetch fails does the call fail, with the first error (an ambiguous customer,
say). Lists are cut to what a conversation needs, so a typical card stays well under 6 KB.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar

from pydantic import Field

from cdp_mcp import wire
from cdp_mcp.catalog import Scope
from cdp_mcp.errors import CdpError
from cdp_mcp.tools import outputs, shaping
from cdp_mcp.tools.origins import OURS, shaped, wired
from cdp_mcp.tools.params import SECTIONS
from cdp_mcp.tools.spec import ToolCall
from cdp_mcp.tools.upstream import PlannedFetch, fetch_beside_gcr_id, granted

__all__ = [
    "OVERVIEW_RESOURCES",
    "SECTION_RESOURCES",
    "Overview",
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


class _CardSection(outputs.OutputModel):
    """A section of the card."""


class Who(_CardSection):
    name: Annotated[str | None, shaped(outputs.CustomerProfile, "name")] = None
    tier: Annotated[str | None, shaped(outputs.CustomerProfile, "tier")] = None
    city: Annotated[str | None, shaped(outputs.CustomerProfile, "city")] = None
    age_band: Annotated[str | None, OURS] = None


class Value(_CardSection):
    total_sales: outputs.Number | None = None
    orders: int | None = None
    average_basket: outputs.Number | None = None
    days_since_last_purchase: int | None = None
    trend: dict[str, outputs.Figures] | None = Field(None, description="By month, last 3; a figure absent is unknown")
    month_to_date: Annotated[str | None, OURS] = Field(
        None, description="Month of trend in progress; trend_direction leaves it out")
    trend_direction: Annotated[str | None, OURS] = Field(None, description="up, down or flat")


class SegmentsCard(_CardSection):
    total: int
    top: Annotated[dict[str, str], wired(wire.Segment, "name", "id")] = Field(description="Segment id -> name")


class Overview(outputs.Result, outputs.Priced, outputs.Withholds):
    amount_keys: ClassVar[frozenset[str]] = frozenset({"total_sales", "average_basket", "sales", "price"})

    who: Who | None = None
    value: Value | None = None
    segments: SegmentsCard | None = None
    consent: dict[str, bool] | None = None
    affinities: dict[str, dict[str, outputs.Number]] | None = None
    recommendations: dict[str, outputs.Product] | None = None
    unavailable: Annotated[dict[str, str] | None, OURS] = Field(None, description="Section -> why it is missing")


def _direction(months: list[outputs.Figures]) -> str | None:
    """The last whole month's sales against the first's (the caller leaves out a month in progress)."""
    if len(months) < 2 or months[0].sales is None or months[-1].sales is None:
        return None  # unknown is not zero: no direction from a month whose value the API did not state
    first, last = months[0].sales, months[-1].sales
    return "up" if last > first * 1.05 else "down" if last < first * 0.95 else "flat"


def _value(got: dict[str, Any], card: outputs.CustomerProfile, now: datetime) -> Value:
    """The value section: the month in progress (now's, by the backend's clock) is shown but never compared: a few
    days of sales against whole months would read as a fall."""
    trends = got.get(Scope.PRODUCT_PURCHASE_TRENDS)
    months = shaping.trends(trends, None).months if trends is not None else {}
    current = f"{now:%Y-%m}"
    in_progress = current if current in months else None
    whole = [figures for month, figures in months.items() if month != in_progress]
    return Value(total_sales=card.total_sales, orders=card.orders, average_basket=card.average_basket,
                 days_since_last_purchase=card.days_since_last_purchase, trend=months or None,
                 month_to_date=in_progress, trend_direction=_direction(whole))


def _build(section: str, got: dict[str, Any], card: outputs.CustomerProfile, now: datetime) -> Any:
    """One section from the fetched domain models (all of its resources present) and the profile card."""
    if section == "who":
        return Who(name=card.name, tier=card.tier, city=card.city, age_band=shaping.age_band(card.age))
    if section == "value":
        return _value(got, card, now)
    if section == "segments":
        page = got[Scope.SEGMENTS]
        rows = outputs.unique([shaping.segment_item(s) for s in page.items], key=lambda s: s.id)
        total = page.page.total if page.page.total is not None else len(rows)
        return SegmentsCard(total=total, top={s.id: s.name or s.id for s in rows[:_TOP_SEGMENTS]})
    if section == "consent":
        consent = shaping.consents(got[Scope.OPT_IN], None)
        return {c: c in consent.contactable_on for c in [*consent.contactable_on, *consent.not_contactable_on]}
    if section == "affinities":
        return shaping.affinity(got[Scope.AFFINITY], None, _TOP_AFFINITIES).charts
    products = outputs.keyed([shaping.recommendation(r) for r in got[Scope.RECOMMENDED_PRODUCTS].items], "code",
                             outputs.Product)
    return dict(list(products.items())[:_TOP_RECOMMENDATIONS]) or None


def _currency(got: dict[str, Any]) -> str | None:
    """The currency the fetched responses stated for an amount on the card."""
    profile, trends = got.get(Scope.BASIC), got.get(Scope.PRODUCT_PURCHASE_TRENDS)
    recs = got.get(Scope.RECOMMENDED_PRODUCTS)
    return outputs.currency_of(*([profile.total_sales, profile.average_basket] if profile else []),
                         *(p.order_value for p in (trends.points if trends else [])),
                         *(r.price for r in (recs.items if recs else [])))


async def overview(call: ToolCall) -> Overview:
    """Fetch what the requested sections need, concurrently, and assemble the card."""
    identity = call.identity
    sections = [s for s in SECTIONS if s in (call.arguments.get("include") or SECTIONS)]
    wanted = [r for r in OVERVIEW_RESOURCES if any(r in SECTION_RESOURCES[s] for s in sections)]
    plan = [r for r in wanted if granted(call.settings, r)]
    failed = {r: _NOT_GRANTED for r in wanted if r not in plan}
    done = 0

    async def answered(resource: str, answer: Any) -> None:
        nonlocal done
        done += 1
        ready = "unavailable" if isinstance(answer, CdpError) else "ready"
        await call.progress(done, len(plan), f"{resource} {ready}")

    answers, gcr_id = await fetch_beside_gcr_id(call.backend, identity, {r: PlannedFetch(r) for r in plan},
                                                answered=answered)
    got = {r: a for r, a in answers.items() if not isinstance(a, CdpError)}
    errors = [a for a in answers.values() if isinstance(a, CdpError)]
    failed.update({r: a.for_model() for r, a in answers.items() if isinstance(a, CdpError)})
    if errors and not got:
        raise errors[0]
    profile = shaping.profile(got[Scope.BASIC]) if Scope.BASIC in got else outputs.CustomerProfile()
    card: dict[str, Any] = {}
    unavailable: dict[str, str] = {}
    for section in sections:
        needs = SECTION_RESOURCES[section]
        missing = next((r for r in needs[:1] if r in failed), None)  # the first resource is essential
        if missing is not None:
            unavailable[section] = failed[missing]
            continue
        card[section] = _build(section, got, profile, call.backend.clock.now())
        unavailable.update({f"{section}.trend": failed[r] for r in needs[1:] if r in failed})
    return Overview(gcr_id=gcr_id, currency=_currency(got), unavailable=unavailable or None, **card)

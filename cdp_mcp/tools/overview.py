"""get_customer_overview: one compact card from six resources fetched concurrently, each with its own token.

Each resource is fetched once, in parallel (the client asks the broker for a token scoped to exactly that
resource), and progress is reported as each arrives. A resource that fails, or that the tenant does not
grant, marks the sections built from it `unavailable` with the reason while the rest of the card is
returned; only when every fetch fails does the call fail, with the first error (an ambiguous customer,
say). Lists are cut to what a conversation needs, so a typical card stays well under 6 KB.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, TypeVar, cast

from pydantic import Field

from cdp_mcp import wire
from cdp_mcp.client.reading import Reader
from cdp_mcp.client.resources.affinity import AFFINITY
from cdp_mcp.client.resources.consent import OPT_IN
from cdp_mcp.client.resources.profile import BASIC
from cdp_mcp.client.resources.recommendations import RECOMMENDED_PRODUCTS
from cdp_mcp.client.resources.segments import SEGMENTS
from cdp_mcp.client.resources.trends import PRODUCT_PURCHASE_TRENDS
from cdp_mcp.errors import CdpError
from cdp_mcp.tools import outputs, shaping
from cdp_mcp.tools.origins import OURS, shaped, wired
from cdp_mcp.tools.params import SECTIONS
from cdp_mcp.tools.resources.affinity import affinity
from cdp_mcp.tools.resources.consent import consents
from cdp_mcp.tools.resources.profile import CustomerProfile, profile
from cdp_mcp.tools.resources.recommendations import Product, recommendation
from cdp_mcp.tools.resources.segments import segment_item
from cdp_mcp.tools.resources.trends import Figures, trends
from cdp_mcp.tools.spec import ToolCall
from cdp_mcp.tools.upstream import Answers, PlannedFetch, fetch_beside_gcr_id, granted

__all__ = [
    "OVERVIEW_RESOURCES",
    "SECTION_RESOURCES",
    "Overview",
    "SegmentsCard",
    "Value",
    "Who",
    "overview",
]

SECTION_READERS: dict[str, tuple[Reader[object], ...]] = {
    "who": (BASIC,),
    "value": (BASIC, PRODUCT_PURCHASE_TRENDS),
    "segments": (SEGMENTS,),
    "consent": (OPT_IN,),
    "affinities": (AFFINITY,),
    "recommendations": (RECOMMENDED_PRODUCTS,),
}
"""The resources each section is built from; the first is essential, the others enrich it."""
SECTION_RESOURCES: dict[str, tuple[str, ...]] = {
    section: tuple(r.scope for r in readers) for section, readers in SECTION_READERS.items()}
OVERVIEW_RESOURCES: tuple[str, ...] = tuple(dict.fromkeys(r for rs in SECTION_RESOURCES.values() for r in rs))
_READERS: tuple[Reader[object], ...] = tuple(dict.fromkeys(r for rs in SECTION_READERS.values() for r in rs))
assert tuple(SECTION_RESOURCES) == SECTIONS
_TOP_SEGMENTS, _TOP_AFFINITIES, _TOP_RECOMMENDATIONS = 10, 3, 3
_NOT_GRANTED = "not granted to this tenant (CDP_RESOURCES)"
Model = TypeVar("Model")


class _CardSection(outputs.OutputModel):
    """A section of the card."""


class Who(_CardSection):
    name: Annotated[str | None, shaped(CustomerProfile, "name")] = None
    tier: Annotated[str | None, shaped(CustomerProfile, "tier")] = None
    city: Annotated[str | None, shaped(CustomerProfile, "city")] = None
    age_band: Annotated[str | None, OURS] = None


class Value(_CardSection):
    total_sales: outputs.Number | None = None
    orders: int | None = None
    average_basket: outputs.Number | None = None
    days_since_last_purchase: int | None = None
    trend: dict[str, Figures] | None = Field(None, description="By month, last 3; a figure absent is unknown")
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
    recommendations: dict[str, Product] | None = None
    unavailable: Annotated[dict[str, str] | None, OURS] = Field(None, description="Section -> why it is missing")


def _direction(months: list[Figures]) -> str | None:
    """The last whole month's sales against the first's (the caller leaves out a month in progress)."""
    if len(months) < 2 or months[0].sales is None or months[-1].sales is None:
        return None  # unknown is not zero: no direction from a month whose value the API did not state
    first, last = months[0].sales, months[-1].sales
    return "up" if last > first * 1.05 else "down" if last < first * 0.95 else "flat"


class _Fetched:
    """The overview's answers, by resource: the model each fetch returned (None when it failed or was not asked)."""

    def __init__(self, asks: dict[str, PlannedFetch[object]], answers: Answers) -> None:
        self._asks, self._answers = asks, answers

    def get(self, reader: Reader[Model]) -> Model | None:
        ask = self._asks.get(reader.scope)
        return cast("Model | None", self._answers.get(ask)) if ask is not None else None  # the reader's own ask


def _value(got: _Fetched, card: CustomerProfile, now: datetime) -> Value:
    """The value section: the month in progress (now's, by the backend's clock) is shown but never compared: a few
    days of sales against whole months would read as a fall."""
    monthly = got.get(PRODUCT_PURCHASE_TRENDS)
    months = trends(monthly, None).months if monthly is not None else {}
    current = f"{now:%Y-%m}"
    in_progress = current if current in months else None
    whole = [figures for month, figures in months.items() if month != in_progress]
    return Value(total_sales=card.total_sales, orders=card.orders, average_basket=card.average_basket,
                 days_since_last_purchase=card.days_since_last_purchase, trend=months or None,
                 month_to_date=in_progress, trend_direction=_direction(whole))


def _build(section: str, got: _Fetched, card: CustomerProfile, now: datetime) -> object:
    """One section from the fetched domain models (all of its resources present) and the profile card."""
    if section == "who":
        return Who(name=card.name, tier=card.tier, city=card.city, age_band=shaping.age_band(card.age))
    if section == "value":
        return _value(got, card, now)
    if section == "segments":
        page = _present(got.get(SEGMENTS))
        rows = outputs.unique(page.items, key=lambda s: s.id)  # as `segment_item` keys them; only id and name shown
        total = page.page.total if page.page.total is not None else len(rows)
        return SegmentsCard(total=total, top={s.id: segment_item(s).name or s.id for s in rows[:_TOP_SEGMENTS]})
    if section == "consent":
        consent = consents(_present(got.get(OPT_IN)), None)
        return {c: c in consent.contactable_on for c in [*consent.contactable_on, *consent.not_contactable_on]}
    if section == "affinities":
        return affinity(_present(got.get(AFFINITY)), None, _TOP_AFFINITIES).charts
    recommended = _present(got.get(RECOMMENDED_PRODUCTS))
    top = outputs.keyed((recommendation(r) for r in recommended.items), "code", Product, first=_TOP_RECOMMENDATIONS)
    return top or None


def _present(model: Model | None) -> Model:
    """A section's essential model: `_build` runs only once it was fetched."""
    assert model is not None
    return model


def _currency(got: _Fetched) -> str | None:
    """The currency the fetched responses stated for an amount on the card."""
    card, monthly, recs = got.get(BASIC), got.get(PRODUCT_PURCHASE_TRENDS), got.get(RECOMMENDED_PRODUCTS)
    return outputs.currency_of(*([card.total_sales, card.average_basket] if card else []),
                               *(p.order_value for p in (monthly.points if monthly else [])),
                               *(r.price for r in (recs.items if recs else [])))


async def overview(call: ToolCall) -> Overview:
    """Fetch what the requested sections need, concurrently, and assemble the card."""
    identity = call.identity
    sections = [s for s in SECTIONS if s in (call.arguments.get("include") or SECTIONS)]
    wanted = [r for r in _READERS if any(r in SECTION_READERS[s] for s in sections)]
    plan: dict[str, PlannedFetch[object]] = {r.scope: PlannedFetch(r) for r in wanted
                                             if granted(call.settings, r.scope)}
    failed: dict[str, str] = {r.scope: _NOT_GRANTED for r in wanted if r.scope not in plan}
    done = 0

    async def answered(ask: PlannedFetch[object], answer: object) -> None:
        nonlocal done
        done += 1
        ready = "unavailable" if isinstance(answer, CdpError) else "ready"
        await call.progress(done, len(plan), f"{ask.resource} {ready}")

    answers, gcr_id = await fetch_beside_gcr_id(call.backend, identity, plan.values(), answered=answered)
    errors = answers.errors()
    failed.update({ask.resource: error.for_model() for ask, error in errors.items()})
    if errors and len(errors) == len(answers):
        raise next(iter(errors.values()))
    got = _Fetched(plan, answers)
    fetched = got.get(BASIC)
    shaped_profile = profile(fetched) if fetched is not None else CustomerProfile()
    card: dict[str, object] = {}
    unavailable: dict[str, str] = {}
    for section in sections:
        needs = SECTION_RESOURCES[section]
        missing = next((r for r in needs[:1] if r in failed), None)  # the first resource is essential
        if missing is not None:
            unavailable[section] = failed[missing]
            continue
        card[section] = _build(section, got, shaped_profile, call.backend.clock.now())
        unavailable.update({f"{section}.trend": failed[r] for r in needs[1:] if r in failed})
    return Overview.model_validate({"gcr_id": gcr_id, "currency": _currency(got), "unavailable": unavailable or None,
                                    **card})  # each section as `_build` made it

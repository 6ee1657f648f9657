"""screen_customers: for a campaign planner, one row per customer: in the segment? contactable? how recent?

Up to 100 customers, at most `CONCURRENCY` upstream calls in flight, progress reported as rows complete.
Per customer: membership (isCustomerInSegment by id; by name, the customer's segments searched and the
name compared exactly, case-insensitively), consent on the channel (optIn), the profile (basic: days since last
purchase) and the gcr_id (given, cached, or one gcr lookup beside the others: `upstream.fetch_beside_gcr_id`).
The result names the segment both ways, for the table to show its name: by name, the id of the exact match; by
id, its name from the segments of one screened member (when segments may be read).
A failure is reported in that customer's row (the first of its failures); the other rows go on. A segment
name that no screened customer's segments carry is an error that says so (it may not exist), never a
screening where nobody is in it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Annotated, TypeVar

import anyio
from pydantic import Field

from cdp_mcp import metrics
from cdp_mcp.catalog import Scope
from cdp_mcp.client.identity import CustomerIdentity
from cdp_mcp.client.models import PageRequest
from cdp_mcp.client.resources.consent import OPT_IN
from cdp_mcp.client.resources.profile import BASIC
from cdp_mcp.client.resources.segments import IS_CUSTOMER_IN_SEGMENT, SEARCH_SEGMENTS, SEGMENTS
from cdp_mcp.errors import CdpError, InvalidInputError
from cdp_mcp.jobs import model as jobs_model
from cdp_mcp.jobs.rows import Facts, NameSearch
from cdp_mcp.tools.origins import OURS, shaped
from cdp_mcp.tools.outputs import OUTPUT_CONFIG, OutputModel, Withholds
from cdp_mcp.tools.params import MAX_LIMIT, CustomerRef
from cdp_mcp.tools.resources.profile import CustomerProfile, full_name
from cdp_mcp.tools.spec import ToolCall
from cdp_mcp.tools.upstream import PlannedFetch, fetch, fetch_beside_gcr_id, granted, readable

if TYPE_CHECKING:
    from cdp_mcp.backend import Backend
    from cdp_mcp.settings import Settings

__all__ = ["CONCURRENCY", "Given", "ScreenRow", "ScreenSummary", "Screening", "check",
           "check_segment", "screen", "screened_each"]

_Item = TypeVar("_Item")
_Row = TypeVar("_Row")

CONCURRENCY = 8
"""Upstream calls in flight at once for one screening: polite to the API, fast enough for 100 customers."""
VIA = "screen_customers"
"""How the metrics name rows this tool screened (a screening job's are `job`)."""
_NAMING_READS = 3
"""Pages of one member's segments read at most to name a segment given by id."""

logger = logging.getLogger(__name__)


class Given(jobs_model.Given):
    """The identifiers of one requested customer, echoed without the input schema's long descriptions (the
    caller's own text: `OURS`)."""

    model_config = OUTPUT_CONFIG

    gcr_id: int | None = None
    email: Annotated[str | None, OURS] = None
    mobile: Annotated[str | None, OURS] = None
    customer_code: Annotated[str | None, OURS] = None


class ScreenRow(OutputModel):

    index: int
    customer: Given | None = Field(None, description="Identifiers as given, unless only gcr_id")
    gcr_id: int | None = None
    name: Annotated[str | None, shaped(CustomerProfile, "name")] = None
    in_segment: bool | None = None
    contactable: bool | None = None
    days_since_last_purchase: int | None = None
    error: Annotated[str | None, OURS] = Field(None, description="Why facts are missing")


class ScreenSummary(OutputModel):

    customers: int
    in_segment: int
    contactable: int
    eligible: int = Field(description="In the segment and contactable on the channel")
    errors: int


class Screening(Withholds):

    segment_id: Annotated[str | None, OURS] = None
    segment_name: Annotated[str | None, OURS] = None
    channel: Annotated[str, OURS]
    summary: ScreenSummary
    rows: list[ScreenRow]


async def check(backend: Backend, identity: CustomerIdentity, *, segment_id: str | None, search: NameSearch | None,
                channel: str, limiter: AbstractAsyncContextManager[object] | None) -> Facts:
    """One customer's membership (by id, or by name through `search`), consent on `channel` and recency, fetched
    beside their gcr_id, with at most `limiter`'s requests in flight. Failures are kept in `Facts.errors`."""
    by_id = PlannedFetch(IS_CUSTOMER_IN_SEGMENT, query=segment_id) if segment_id is not None else None
    by_name = PlannedFetch(SEARCH_SEGMENTS, query=search.name, page=PageRequest(page=1, page_size=MAX_LIMIT)) \
        if by_id is None and search is not None else None
    contactable, profile = PlannedFetch(OPT_IN), PlannedFetch(BASIC)
    membership = [ask for ask in (by_id, by_name) if ask is not None]
    answers, gcr_id = await fetch_beside_gcr_id(backend, identity, [*membership, contactable, profile],
                                                limiter=limiter)
    facts = Facts(gcr_id=gcr_id if gcr_id is not None else identity.gcr_id)
    if by_id is not None and (member := answers.get(by_id)) is not None:
        facts.in_segment = member.in_segment
    elif by_name is not None and search is not None and (found := answers.get(by_name)) is not None:
        facts.in_segment = search.note(found.items)
    if (consent := answers.get(contactable)) is not None:
        facts.contactable = any(c.channel.lower() == channel and c.opted_in for c in consent.channels)
    if (card := answers.get(profile)) is not None:
        facts.name, facts.days_since_last_purchase = full_name(card), card.days_since_last_purchase
    facts.errors = list(answers.errors().values())
    return facts


async def _row(call: ToolCall, index: int, ref: CustomerRef, limiter: anyio.CapacityLimiter,
               search: NameSearch | None) -> ScreenRow:
    given = Given(**ref.model_dump())
    try:
        identity = CustomerIdentity.parse(**ref.model_dump())
    except InvalidInputError as exc:
        return ScreenRow(index=index, customer=given, error=exc.for_model())
    facts = await check(call.backend, identity, segment_id=call.arguments.get("segment_id"), search=search,
                        channel=call.arguments["channel"], limiter=limiter)
    echo = None if given == Given(gcr_id=facts.gcr_id) else given
    return ScreenRow(index=index, customer=echo, gcr_id=facts.gcr_id, name=facts.name, in_segment=facts.in_segment,
                     contactable=facts.contactable, days_since_last_purchase=facts.days_since_last_purchase,
                     error=facts.errors[0].for_model() if facts.errors else None)


def check_segment(settings: Settings, segment_id: str | None, segment_name: str | None) -> None:
    """Refuse anything but exactly one of segment_id and segment_name (a name needs searchSegments granted).

    Raises:
        InvalidInputError: naming the argument to give instead.
    """
    if (segment_id is None) == (segment_name is None):
        raise InvalidInputError("Give exactly one of segment_id or segment_name.",
                                hint='For example segment_id="SEG-001", or segment_name="VIP customers".')
    if segment_name is not None and not granted(settings, Scope.SEARCH_SEGMENTS):
        raise InvalidInputError(f"segment_name needs the {Scope.SEARCH_SEGMENTS} resource, which this tenant does not "
                                "grant (CDP_RESOURCES).", hint="Pass segment_id instead.")


async def screened_each(call: ToolCall, items: Sequence[_Item], screen_one: Callable[[int, _Item], Awaitable[_Row]],
                        search: NameSearch | None) -> list[_Row]:
    """Every item screened concurrently (the limiter inside `screen_one` bounds the requests), progress reported
    as each finishes; the results in item order. A segment name no screened customer carries is an error."""
    rows: list[_Row | None] = [None] * len(items)
    done = 0

    async def one(index: int, item: _Item) -> None:
        nonlocal done
        rows[index] = await screen_one(index, item)
        done += 1
        await call.progress(done, len(items), f"{done} of {len(items)} customers screened")

    async with anyio.create_task_group() as tg:
        for index, item in enumerate(items):
            tg.start_soon(one, index, item)
    if search is not None and (missing := search.not_found()) is not None:
        raise missing
    return [r for r in rows if r is not None]


def _outcome(row: ScreenRow) -> str:
    """A row as the metrics count it, the first check it failed: the names a screening job's rows use."""
    if row.error is not None:
        return "error"
    if not row.in_segment:
        return "not_in_segment"
    return "eligible" if row.contactable else "not_contactable"


async def _segment_name(call: ToolCall, segment_id: str, rows: list[ScreenRow]) -> str | None:
    """The name of the segment given by id, for the table to say: found among the segments of one screened customer
    who is in it, when this call may read segments; None when nobody screened is in it or it cannot be read."""
    member = next((r.gcr_id for r in rows if r.in_segment and r.gcr_id is not None), None)
    if member is None or not readable(call.settings, SEGMENTS.scope):
        return None
    page: PageRequest | None = PageRequest(page_size=MAX_LIMIT)
    for _ in range(_NAMING_READS):
        try:
            listed = await fetch(call.backend, SEGMENTS, CustomerIdentity(gcr_id=member), page=page)
        except CdpError as exc:  # the screening stands without the name
            logger.info("screen_customers: the segment's name could not be read (%s)", exc.code)
            return None
        found = next((s.name for s in listed.items if s.id == segment_id), None)
        if found or (page := listed.page.next) is None:
            return found
    return None


async def screen(call: ToolCall) -> Screening:
    """Screen every customer of the request against the segment and the channel."""
    segment_id, segment_name = call.arguments.get("segment_id"), call.arguments.get("segment_name")
    check_segment(call.settings, segment_id, segment_name)
    customers: list[CustomerRef] = call.arguments["customers"]
    search = NameSearch(str(segment_name)) if segment_name is not None else None
    limiter = anyio.CapacityLimiter(CONCURRENCY)

    async def one(index: int, ref: CustomerRef) -> ScreenRow:
        return await _row(call, index, ref, limiter, search)

    final = await screened_each(call, customers, one, search)
    for row in final:
        metrics.screening_rows(VIA, _outcome(row))
    if segment_id is not None:
        segment_name = await _segment_name(call, str(segment_id), final)
    elif search is not None and search.exact is not None:  # the API's spelling of the name, and its id
        segment_id, segment_name = search.exact.id, search.exact.name or segment_name
    summary = ScreenSummary(
        customers=len(final),
        in_segment=sum(1 for r in final if r.in_segment),
        contactable=sum(1 for r in final if r.contactable),
        eligible=sum(1 for r in final if r.in_segment and r.contactable),
        errors=sum(1 for r in final if r.error),
    )
    return Screening(segment_id=segment_id, segment_name=segment_name, channel=call.arguments["channel"],
                     summary=summary, rows=final)

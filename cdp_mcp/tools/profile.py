"""The per-resource tools, one per catalog resource, built from `catalog.RESOURCES` and one table (data, not a
function each).

`PROFILE_TOOLS` maps each resource to how it is offered, as one of four explicit kinds: a `ListTool` (items
shaped one by one, capped by `limit`, with a cursor when the resource pages), a `SingleTool` (one result
shaped whole), the `ResolveTool` (the gcr lookup) and the `MembershipTool` (a yes/no for one segment). The
resource's scope, query parameter and paging style come from the catalog. Each kind has one handler:
validate the identifiers, turn `limit`/`cursor` into the resource's paging, fetch (the client asks the
broker for a token scoped to exactly that resource), shape, and name the customer's gcr_id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel

from cdp_mcp.catalog import RESOURCES, Paging, Resource, Scope
from cdp_mcp.client import models
from cdp_mcp.client.models import PageRequest
from cdp_mcp.errors import InvalidInputError
from cdp_mcp.tools import outputs, shaping
from cdp_mcp.tools.cursors import Cursor, decode_cursor, encode_cursor, upstream_refusal
from cdp_mcp.tools.params import CURSOR, IDENTITY_PARAMS, LIMIT, MAX_LIMIT, text_param
from cdp_mcp.tools.spec import Handler, Param, ToolCall, ToolSpec
from cdp_mcp.tools.upstream import fetch, fetch_with_gcr_id, gcr_id_exists, gcr_id_for

__all__ = [
    "PROFILE_TOOLS",
    "Argument",
    "ListTool",
    "MembershipTool",
    "ResolveTool",
    "ResourceTool",
    "SingleTool",
    "profile_specs",
]



@dataclass(frozen=True, slots=True)
class Argument:
    """The tool argument that carries the catalog's query parameter (a search text or a segment id)."""

    name: str
    description: str


@dataclass(frozen=True, slots=True, kw_only=True)
class _ToolBasics:
    """What every kind of tool has: its name, title and description (as `tools/list` shows them), and the
    resources it reads when granted: the gcr lookup that names the customer (`upstream.fetch_beside_gcr_id`)."""

    tool: str
    title: str
    description: str
    optional_resources: ClassVar[tuple[str, ...]] = (Scope.GCR_ID,)


@dataclass(frozen=True, slots=True, kw_only=True)
class ListTool(_ToolBasics):
    """A list: each item shaped by `item`, capped by `limit`; `pages` offers a cursor for the items after it."""

    output: type[outputs.Listing]
    item: Callable[[Any], BaseModel]
    pages: bool
    argument: Argument | None = None
    extra: Callable[[Any], dict[str, Any]] | None = None  # result fields besides the items, from the whole data
    group: Callable[[Any], Any] | None = None
    """The group an upstream item belongs to (a purchase line's order), when the result groups them: `limit`,
    `total` and `remaining` then count groups, and a page never splits one (`_whole_groups`)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SingleTool(_ToolBasics):
    """One result shaped whole by `shape(data, gcr_id, limit)`; `limited` offers `limit` (say, labels per chart)."""

    output: type[outputs.Result]
    shape: Callable[[Any, int | None, int], outputs.Result]
    limited: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolveTool(_ToolBasics):
    """The gcr lookup: identifiers in, the customer's gcr_id (or found=false) out; a bare gcr_id is checked
    through basic when granted."""

    output: ClassVar[type[outputs.Result]] = outputs.CustomerMatch
    optional_resources: ClassVar[tuple[str, ...]] = (Scope.BASIC,)


@dataclass(frozen=True, slots=True, kw_only=True)
class MembershipTool(_ToolBasics):
    """A yes/no: is the customer in the segment that `argument` names."""

    argument: Argument
    output: ClassVar[type[outputs.Result]] = outputs.SegmentCheck

    @staticmethod
    def shape(data: models.Membership, gcr_id: int | None, _limit: int) -> outputs.Result:
        return outputs.SegmentCheck(gcr_id=gcr_id, in_segment=data.in_segment)


ResourceTool = ListTool | SingleTool | ResolveTool | MembershipTool
"""How one resource is offered as a tool: one of the four kinds."""


def _profile_card(data: models.Profile, gcr_id: int | None, _limit: int) -> outputs.Result:
    return shaping.profile(data, gcr_id)


def _trends_card(data: models.PurchaseTrends, gcr_id: int | None, _limit: int) -> outputs.Result:
    return shaping.trends(data, gcr_id)


def _consent_card(data: models.Consents, gcr_id: int | None, _limit: int) -> outputs.Result:
    return shaping.consents(data, gcr_id)


def _recommendation_source(data: models.Recommendations) -> dict[str, Any]:
    return {"source": shaping.clean(data.source)}


PROFILE_TOOLS: dict[str, ResourceTool] = {
    Scope.BASIC: SingleTool(
        tool="get_customer_profile", title="Customer profile",
        description="The customer's profile card: name, tier, status colour, city, age, address, sales figures "
        "(total, orders, average basket, days since last purchase), the tenant's further fields. Start here for 'who "
        "is this customer?'.",
        output=outputs.CustomerProfile, shape=_profile_card),
    Scope.SEGMENTS: ListTool(
        tool="list_customer_segments", title="Customer segments",
        description="Segments the customer belongs to, by id: name, category, date joined, what the segment "
        "means.",
        output=outputs.Segments, item=shaping.segment_item, pages=True),
    Scope.SEARCH_SEGMENTS: ListTool(
        tool="search_customer_segments", title="Search customer segments",
        description="The customer's segments whose name contains a text (case-insensitive), by id with name and "
        "date joined. Use to find a segment id by name.",
        output=outputs.SegmentMatches, item=shaping.segment_item, pages=True,
        argument=Argument("segment_name", "Text to look for in segment names, e.g. 'vip'.")),
    Scope.IS_CUSTOMER_IN_SEGMENT: MembershipTool(
        tool="check_customer_in_segment", title="Is the customer in a segment",
        description="Whether the customer is in one segment, by segment id (from list_customer_segments or "
        "search_customer_segments). An unknown id answers false.",
        argument=Argument("segment_id", "Segment id, e.g. from list_customer_segments.")),
    Scope.CAMPAIGNS: ListTool(
        tool="list_customer_campaigns", title="Customer campaigns",
        description="Campaigns that targeted the customer, by id: name, channel, status, segment, dates, sent, "
        "opened/clicked.",
        output=outputs.Campaigns, item=shaping.campaign_item, pages=True),
    Scope.SEARCH_CAMPAIGNS: ListTool(
        tool="search_customer_campaigns", title="Search customer campaigns",
        description="The customer's campaigns whose name contains a text (case-insensitive), by id: name, channel, "
        "when sent, opened/clicked.",
        output=outputs.CampaignMatches, item=shaping.campaign_item, pages=True,
        argument=Argument("campaign_name", "Text to look for in campaign names, e.g. 'spring'.")),
    Scope.RECOMMENDED_PRODUCTS: ListTool(
        tool="get_product_recommendations", title="Product recommendations",
        description="Products recommended for the customer (code, name, price), best first.",
        output=outputs.Recommendations, item=shaping.recommendation, pages=False, extra=_recommendation_source),
    Scope.USER_ACTIVITY: ListTool(
        tool="get_customer_activity", title="Customer activity",
        description="Recent web, app and store events (date, what happened, channel, amount), newest first.",
        output=outputs.Activities, item=shaping.activity_item, pages=False),
    Scope.PRODUCT_PURCHASE_TRENDS: SingleTool(
        tool="get_purchase_trends", title="Purchase trends",
        description="Orders and order value per month over the last 3 months, oldest first, with totals.",
        output=outputs.Trends, shape=_trends_card),
    Scope.PRODUCT_PURCHASED: ListTool(
        tool="list_purchased_products", title="Purchased products",
        description="What the customer bought, newest first, by order: date, then per product code its name, "
        "category, quantity and amount; limit counts orders.",
        output=outputs.Purchases, item=shaping.purchase_item, pages=True, group=lambda line: line.order_id),
    Scope.AFFINITY: SingleTool(
        tool="get_customer_affinity", title="Customer affinities",
        description="Affinity scores by category, brand and channel: each chart's top labels, highest first (limit "
        "per chart), and how many more it has.",
        output=outputs.AffinityOut, shape=shaping.affinity, limited=True),
    Scope.USER_ATTRIBUTES: ListTool(
        tool="get_customer_attributes", title="Custom attributes",
        description="The tenant's custom attributes of the customer, name -> value.",
        output=outputs.Attributes, item=shaping.attribute_item, pages=True),
    Scope.GCR_ID: ResolveTool(
        tool="resolve_customer", title="Resolve a customer",
        description="The customer's Golden Customer Record id (gcr_id) from email, mobile or customer code; "
        "found=false when nobody matches (a gcr_id alone is checked). Use gcr_id in later calls."),
    Scope.OPT_IN: SingleTool(
        tool="get_marketing_consent", title="Marketing consent",
        description="Marketing consent: the channels (email, sms, push, whatsapp) the customer opted in to and not, "
        "with the consent categories per channel.",
        output=outputs.ConsentOut, shape=_consent_card),
}


def _params(entry: ResourceTool) -> tuple[Param, ...]:
    params = list(IDENTITY_PARAMS)
    match entry:
        case ListTool():
            params += [text_param(entry.argument.name, entry.argument.description)] if entry.argument else []
            params += [LIMIT, CURSOR] if entry.pages else [LIMIT]
        case SingleTool():
            params += [LIMIT] if entry.limited else []
        case MembershipTool():
            params.append(text_param(entry.argument.name, entry.argument.description))
        case ResolveTool():
            pass
    return tuple(params)


_PAGED_UPSTREAM = (Paging.PAGE, Paging.LAST_KEY, Paging.POINTER)
_SIZED_UPSTREAM = (Paging.PAGE_SIZE, Paging.POINTER)  # without a page to follow, ask for the first N items


def _first_page(res: Resource, limit: int) -> PageRequest | None:
    if res.paging is Paging.PAGE:
        return PageRequest(page=1, page_size=limit)
    if res.paging in (Paging.LAST_KEY, Paging.POINTER):
        return PageRequest(page_size=limit)
    return None


def _stated_total(data: Any) -> int | None:
    """The total the response stated: on the page info of paged lists, on the model of unpaged ones."""
    page = getattr(data, "page", None)
    return page.total if page is not None else getattr(data, "total", None)


async def _page_for(call: ToolCall, res: Resource, cursor: Cursor | None, query: str | None,
                    page: PageRequest | None) -> tuple[Any, int | None]:
    """One page of the list and the customer's gcr_id. With a cursor, the gcr_id comes first (usually known by
    then: the page before named it) so that a cursor of another customer's list is refused before the page is
    asked for; a refusal of the page by the API, for a customer that could not be checked, names `cursor`."""
    if cursor is None:
        return await fetch_with_gcr_id(call.backend, res.name, call.identity, query=query, page=page)
    gcr_id = await gcr_id_for(call.backend, call.identity)
    cursor.check_customer(gcr_id)
    try:
        return await fetch(call.backend, res.name, call.identity, query=query, page=page), gcr_id
    except InvalidInputError as exc:
        raise upstream_refusal(exc) from exc


_MAX_READS = 5
"""Upstream pages one call of a grouped list reads at most (pages of MAX_LIMIT items; a group has a few)."""


@dataclass(slots=True)
class _Groups:
    """Whole groups of consecutive items with one key (a purchase's order lines) as `_whole_groups` reads them: the
    page's groups, where each begins, and how many begin after the page (so far)."""

    tool: str
    query: str | None
    before: int  # groups shown on earlier pages
    limit: int
    key: Callable[[Any], Any]
    gcr_id: int | None = None
    groups: list[list[Any]] = field(default_factory=list)
    starts: list[Cursor] = field(default_factory=list)
    after: int = 0
    _last: Any = field(default_factory=object)

    def take(self, items: list[Any], request: PageRequest | None, skip: int) -> None:
        """The items of one upstream page (`request`), from item `skip` on."""
        for index, item in enumerate(items[skip:], start=skip):
            key = self.key(item)
            if key == self._last:
                if not self.after:
                    self.groups[-1].append(item)
                continue
            self._last = key
            if len(self.groups) == self.limit:
                self.after += 1
            else:
                self.groups.append([item])
            if len(self.starts) <= self.limit:
                self.starts.append(self._at(request, index))

    def stop_before_the_last(self, following: PageRequest | None) -> None:
        """Reads ran out before the list or the page ended: the last group may go on, so it waits for the next page
        (unless it is alone: then the next page goes on from `following`)."""
        if len(self.groups) > 1:
            self.groups.pop()
        else:
            self.starts.append(self._at(following, 0))
        self.after = 1

    def _at(self, request: PageRequest | None, index: int) -> Cursor:
        return Cursor(self.tool, self.before + len(self.starts), request, self.query, self.gcr_id, skip=index)

    def following(self) -> Cursor | None:
        return self.starts[len(self.groups)] if self.after else None


async def _whole_groups(call: ToolCall, res: Resource, entry: ListTool, cursor: Cursor | None, query: str | None,
                        limit: int, key: Callable[[Any], Any]) -> tuple[Any, _Groups, int | None]:
    """Up to `limit` whole groups (`_Groups`) from where `cursor` starts: upstream pages of MAX_LIMIT items are read
    until the group after the page begins (so the page's last group is whole) or the list ends. Returns the last
    data read, the groups, and their total when the list was read to its end here (else None: unknown)."""
    request = cursor.page if cursor and cursor.page else _first_page(res, MAX_LIMIT)
    skip = cursor.skip if cursor else 0
    read = _Groups(entry.tool, query, cursor.offset if cursor else 0, limit, key)
    data, read.gcr_id = await _page_for(call, res, cursor, query, request)
    for reads in range(_MAX_READS):
        if reads:
            data = await fetch(call.backend, res.name, call.identity, query=query, page=request)
        read.take(data.items, request, skip)
        if data.page.next is None:
            return data, read, read.before + len(read.groups) + read.after
        if read.after:
            return data, read, None  # the page is whole; its total would need more reads
        request, skip = data.page.next, 0
    read.stop_before_the_last(data.page.next)
    return data, read, None


def _list_handler(res: Resource, entry: ListTool) -> Handler:
    """Items capped by `limit`. Resources that page upstream are followed page by page (the cursor carries the
    next page request); the others are cut here (the cursor carries the offset). A pointer-paged resource whose
    answer gives no pointer although more items exist is cut here from then on. Each cursor names the customer
    whose list it pages."""
    paged_upstream = entry.pages and res.paging in _PAGED_UPSTREAM

    async def handle(call: ToolCall) -> outputs.Result:
        query = call.arguments.get(entry.argument.name) if entry.argument else None
        limit: int = call.arguments["limit"]
        token = call.arguments.get("cursor")
        cursor = decode_cursor(token, call.backend.cursor_key, tool=entry.tool, query=query) if token else None
        offset = cursor.offset if cursor else 0
        shown: int | None = None  # counted in groups, for a grouped list; else its items
        if entry.group is not None:
            data, read, total = await _whole_groups(call, res, entry, cursor, query, limit, entry.group)
            gcr_id, following, shown = read.gcr_id, read.following(), len(read.groups)
            items = [item for lines in read.groups for item in lines]
        elif paged_upstream and (cursor is None or cursor.page is not None):
            page = cursor.page if cursor else _first_page(res, limit)
            data, gcr_id = await _page_for(call, res, cursor, query, page)
            items = data.items[:limit] if cursor is None else data.items
            total = data.page.total
            nxt, end = data.page.next, offset + len(items)
            following = Cursor(entry.tool, end, nxt, query, gcr_id) if nxt is not None and items else None
            if following is None and res.paging is Paging.POINTER and total is not None \
                    and end < min(total, MAX_LIMIT):
                following = Cursor(entry.tool, end, None, query, gcr_id)  # no pointer given: cut here
        else:
            sized = res.paging in _SIZED_UPSTREAM
            page = PageRequest(page_size=min(offset + limit, MAX_LIMIT)) if sized else None
            data, gcr_id = await _page_for(call, res, cursor, query, page)
            every = data.items
            items = every[offset:offset + limit]
            total = _stated_total(data)
            total = len(every) if total is None else total
            reachable = min(total, MAX_LIMIT) if sized else len(every)
            more = entry.pages and offset + len(items) < reachable
            following = Cursor(entry.tool, offset + len(items), None, query, gcr_id) if more else None
        # A repeated item appears once; items with their own upstream id (two email opens on one day) stay distinct.
        pairs = outputs.unique([(getattr(i, "id", None), entry.item(i)) for i in items],
                               key=lambda pair: pair[0] if pair[0] is not None else pair[1].model_dump_json())
        shaped = [item for _, item in pairs]
        remaining = total - offset - (len(items) if shown is None else shown) if total is not None else None
        extra = entry.extra(data) if entry.extra else {}
        # The entry's own Listing subclass: its fields vary per tool.
        output: Callable[..., outputs.Result] = entry.output
        return output(gcr_id=gcr_id, total=total, remaining=remaining if remaining and remaining > 0 else None,
                      next_cursor=encode_cursor(following, call.backend.cursor_key) if following else None,
                      items=shaped, **extra)

    return handle


def _single_handler(res: Resource, entry: SingleTool | MembershipTool) -> Handler:
    """One result shaped whole; a membership check sends its argument as the resource's query parameter."""
    argument = entry.argument.name if isinstance(entry, MembershipTool) else None

    async def handle(call: ToolCall) -> outputs.Result:
        query = call.arguments[argument] if argument else None
        data, gcr_id = await fetch_with_gcr_id(call.backend, res.name, call.identity, query=query)
        return entry.shape(data, gcr_id, call.arguments.get("limit", MAX_LIMIT))

    return handle


def _resolve_handler(res: Resource, entry: ResolveTool) -> Handler:
    async def handle(call: ToolCall) -> outputs.Result:
        identity = call.identity
        if identity.gcr_id is not None and len(identity.present()) == 1:
            exists = await gcr_id_exists(call.backend, identity)
            if exists is False:
                return outputs.CustomerMatch(found=False)
            return outputs.CustomerMatch(gcr_id=identity.gcr_id, found=True, verified=False if exists is None else None)
        match = await fetch(call.backend, res.name, identity)
        if match.found and match.gcr_id is not None:
            call.backend.remember_gcr_id(identity, match.gcr_id)
        return outputs.CustomerMatch(gcr_id=match.gcr_id if match.found else None, found=match.found)

    return handle


def _handler(res: Resource, entry: ResourceTool) -> Handler:
    match entry:
        case ListTool():
            return _list_handler(res, entry)
        case SingleTool() | MembershipTool():
            return _single_handler(res, entry)
        case ResolveTool():
            return _resolve_handler(res, entry)


def profile_specs() -> list[ToolSpec]:
    """One spec per catalog resource, in catalog order."""
    return [
        ToolSpec(name=entry.tool, title=entry.title, description=entry.description, resources=(res.name,),
                 params=_params(entry), output=entry.output, handler=_handler(res, entry),
                 optional_resources=entry.optional_resources)
        for res in RESOURCES
        for entry in (PROFILE_TOOLS[res.name],)
    ]

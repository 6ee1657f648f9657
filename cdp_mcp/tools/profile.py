"""The 14 per-resource tools, built from `catalog.RESOURCES` and one table (data, not 14 functions).

`PROFILE_TOOLS` maps each resource to its tool name, title, description, extra argument and shaper; the
resource's scope, query parameter and paging style come from the catalog. One generic handler serves all:
validate the identifiers, turn `limit`/`cursor` into the resource's paging, fetch (the client asks the
broker for a token scoped to exactly that resource), shape, and name the customer's gcr_id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from cdp_mcp.catalog import RESOURCES, Paging, Resource, Scope
from cdp_mcp.client.models import PageRequest
from cdp_mcp.tools import outputs as o
from cdp_mcp.tools import shaping
from cdp_mcp.tools.cursors import Cursor, decode_cursor, encode_cursor
from cdp_mcp.tools.params import CURSOR, IDENTITY_PARAMS, LIMIT, MAX_LIMIT, text_param
from cdp_mcp.tools.spec import Param, ToolCall, ToolSpec
from cdp_mcp.tools.upstream import fetch, fetch_with_gcr_id, gcr_id_for

__all__ = ["PROFILE_TOOLS", "Listing", "ResourceTool", "Role", "profile_specs"]

Listing = Literal["none", "limit", "cursor"]
Role = Literal["data", "profile", "resolve", "membership"]
_PAGING_NOTE = " Capped by limit; says total, and next_cursor when more exist."


@dataclass(frozen=True, slots=True)
class ResourceTool:
    """How one resource is offered as a tool. `item` shapes list items; `shape` whole single results."""

    tool: str
    title: str
    description: str
    output: type[o.Result]
    argument: tuple[str, str] | None = None  # (tool argument, description) for the catalog's query parameter
    listing: Listing = "none"
    item: Callable[[Any], Any] | None = None
    shape: Callable[[Any, int | None, int], o.Result] | None = None
    extra: Callable[[Any], dict[str, Any]] | None = None
    role: Role = "data"  # profile: carries its own gcr_id; resolve: is the gcr lookup; membership: a yes/no


PROFILE_TOOLS: dict[str, ResourceTool] = {
    Scope.BASIC: ResourceTool(
        "get_customer_profile", "Customer profile",
        "The customer's profile card: name, tier, city, age, contact details, sales figures (total sales, "
        "orders, average basket, days since last purchase). Start here for 'who is this customer?'.",
        o.CustomerProfile, role="profile", shape=lambda d, g, _: shaping.profile(d, g)),
    Scope.SEGMENTS: ResourceTool(
        "list_customer_segments", "Customer segments",
        "Segments the customer belongs to, by id: name, category, date joined, what the segment means."
        + _PAGING_NOTE,
        o.Segments, listing="cursor", item=shaping.segment_item),
    Scope.SEARCH_SEGMENTS: ResourceTool(
        "search_customer_segments", "Search customer segments",
        "The customer's segments whose name contains a text (case-insensitive), by id with name and date "
        "joined. Use to find a segment id by name." + _PAGING_NOTE,
        o.SegmentMatches, argument=("segment_name", "Text to look for in segment names, e.g. 'vip'."),
        listing="cursor", item=shaping.segment_item),
    Scope.IS_CUSTOMER_IN_SEGMENT: ResourceTool(
        "check_customer_in_segment", "Is the customer in a segment",
        "Whether the customer belongs to one segment, by segment id (from list_customer_segments or "
        "search_customer_segments). An unknown segment id answers false.",
        o.SegmentCheck, argument=("segment_id", "Segment id, e.g. from list_customer_segments."), role="membership"),
    Scope.CAMPAIGNS: ResourceTool(
        "list_customer_campaigns", "Customer campaigns",
        "Campaigns that targeted the customer, by id: name, channel, status, segment, dates, sent, "
        "opened/clicked." + _PAGING_NOTE,
        o.Campaigns, listing="cursor", item=shaping.campaign_item),
    Scope.SEARCH_CAMPAIGNS: ResourceTool(
        "search_customer_campaigns", "Search customer campaigns",
        "The customer's campaigns whose name contains a text (case-insensitive), by id: name, channel, when "
        "sent, opened/clicked." + _PAGING_NOTE,
        o.CampaignMatches, argument=("campaign_name", "Text to look for in campaign names, e.g. 'spring'."),
        listing="cursor", item=shaping.campaign_item),
    Scope.RECOMMENDED_PRODUCTS: ResourceTool(
        "get_product_recommendations", "Product recommendations",
        "Products recommended for the customer (code, name, price), best first, capped by limit; says total.",
        o.Recommendations, listing="limit", item=shaping.recommendation,
        extra=lambda d: {"source": shaping.clean(d.source)}),
    Scope.USER_ACTIVITY: ResourceTool(
        "get_customer_activity", "Customer activity",
        "Recent web, app and store events (date, what happened, channel, amount), newest first, capped by "
        "limit; says total.",
        o.Activities, listing="limit", item=shaping.activity_item),
    Scope.PRODUCT_PURCHASE_TRENDS: ResourceTool(
        "get_purchase_trends", "Purchase trends",
        "Orders and order value per month over the last 3 months, oldest first, with totals.",
        o.Trends, shape=lambda d, g, _: shaping.trends(d, g)),
    Scope.PRODUCT_PURCHASED: ResourceTool(
        "list_purchased_products", "Purchased products",
        "What the customer bought, newest first, by order: date, then per product code its name, category, "
        "quantity and amount." + _PAGING_NOTE,
        o.Purchases, listing="cursor", item=shaping.purchase_item),
    Scope.AFFINITY: ResourceTool(
        "get_customer_affinity", "Customer affinities",
        "Affinity scores by category, brand and channel: the top labels of each chart with their scores, "
        "highest first (limit per chart), and how many more each chart has.",
        o.AffinityOut, listing="limit",
        shape=shaping.affinity),
    Scope.USER_ATTRIBUTES: ResourceTool(
        "get_customer_attributes", "Custom attributes",
        "The tenant's custom attributes of the customer, name -> value." + _PAGING_NOTE,
        o.Attributes, listing="cursor", item=shaping.attribute_item),
    Scope.GCR_ID: ResourceTool(
        "resolve_customer", "Resolve a customer",
        "The customer's Golden Customer Record id (gcr_id) from email, mobile or customer code; found=false "
        "when nobody matches. Use gcr_id in later calls: it is cheap and unambiguous.",
        o.CustomerMatch, role="resolve"),
    Scope.OPT_IN: ResourceTool(
        "get_marketing_consent", "Marketing consent",
        "Marketing consent: the channels the customer can be contacted on (opted in) and not (email, sms, "
        "push, whatsapp), with the consent categories agreed to per channel.",
        o.ConsentOut, shape=lambda d, g, _: shaping.consents(d, g)),
}


def _params(entry: ResourceTool) -> tuple[Param, ...]:
    params = list(IDENTITY_PARAMS)
    if entry.argument is not None:
        params.append(text_param(*entry.argument))
    if entry.listing != "none":
        params.append(LIMIT)
    if entry.listing == "cursor":
        params.append(CURSOR)
    return tuple(params)


def _first_page(res: Resource, limit: int) -> PageRequest | None:
    if res.paging is Paging.PAGE:
        return PageRequest(page=1, page_size=limit)
    if res.paging is Paging.LAST_KEY:
        return PageRequest(page_size=limit)
    return None


def _stated_total(data: Any) -> int | None:
    """The total the response stated: on the page info of paged lists, on the model of unpaged ones."""
    page = getattr(data, "page", None)
    return page.total if page is not None else getattr(data, "total", None)


async def _listing(call: ToolCall, res: Resource, entry: ResourceTool, query: str | None) -> o.Result:
    limit: int = call.arguments["limit"]
    token = call.arguments.get("cursor")
    cursor = decode_cursor(token, tool=entry.tool, query=query) if token else None
    offset = cursor.offset if cursor else 0
    if res.paging is Paging.PAGE_SIZE or entry.listing == "limit":
        page = PageRequest(page_size=min(offset + limit, MAX_LIMIT)) if res.paging is Paging.PAGE_SIZE else None
        data, gcr_id = await fetch_with_gcr_id(call.backend, res.name, call.identity, query=query, page=page)
        every = data.items
        items = every[offset:offset + limit]
        total = _stated_total(data)
        total = len(every) if total is None else total
        reachable = min(total, MAX_LIMIT) if res.paging is Paging.PAGE_SIZE else len(every)
        more = entry.listing == "cursor" and offset + len(items) < reachable
        following = Cursor(entry.tool, offset + len(items), None, query) if more else None
    else:
        page = cursor.page if cursor else _first_page(res, limit)
        data, gcr_id = await fetch_with_gcr_id(call.backend, res.name, call.identity, query=query, page=page)
        items = data.items[:limit] if cursor is None else data.items
        total = data.page.total
        nxt = data.page.next
        following = Cursor(entry.tool, offset + len(items), nxt, query) if nxt is not None and items else None
    assert entry.item is not None
    # A repeated item appears once; items with their own upstream id (two email opens on one day) stay distinct.
    pairs = shaping.unique([(getattr(i, "id", None), entry.item(i)) for i in items],
                           key=lambda pair: pair[0] if pair[0] is not None else pair[1].model_dump_json())
    shaped = [item for _, item in pairs]
    remaining = total - offset - len(items) if total is not None else None
    extra = entry.extra(data) if entry.extra else {}
    output: Callable[..., o.Result] = entry.output  # the entry's own Listing subclass: its fields vary per tool
    return output(gcr_id=gcr_id, total=total, remaining=remaining if remaining and remaining > 0 else None,
                  next_cursor=encode_cursor(following) if following else None, items=shaped, **extra)


async def _single(call: ToolCall, res: Resource, entry: ResourceTool, query: str | None) -> o.Result:
    identity = call.identity
    if entry.role == "resolve":
        match = await fetch(call.backend, res.name, identity)
        if match.found and match.gcr_id is not None:
            call.backend.remember_gcr_id(identity, match.gcr_id)
        return o.CustomerMatch(gcr_id=match.gcr_id if match.found else None, found=match.found)
    if entry.role == "profile":
        data = await fetch(call.backend, res.name, identity)
        gcr_id = data.gcr_id or await gcr_id_for(call.backend, identity)
        if data.gcr_id is not None:
            call.backend.remember_gcr_id(identity, data.gcr_id)
    else:
        data, gcr_id = await fetch_with_gcr_id(call.backend, res.name, identity, query=query)
    if entry.role == "membership":
        return o.SegmentCheck(gcr_id=gcr_id, in_segment=data.in_segment)
    assert entry.shape is not None
    return entry.shape(data, gcr_id, call.arguments.get("limit", MAX_LIMIT))


def _handler(res: Resource, entry: ResourceTool) -> Callable[[ToolCall], Any]:
    async def handle(call: ToolCall) -> o.Result:
        query = call.arguments.get(entry.argument[0]) if entry.argument else None
        if entry.listing != "none" and entry.item is not None:
            return await _listing(call, res, entry, query)
        return await _single(call, res, entry, query)

    return handle


def profile_specs() -> list[ToolSpec]:
    """One spec per catalog resource, in catalog order."""
    return [
        ToolSpec(name=entry.tool, title=entry.title, description=entry.description, resources=(res.name,),
                 params=_params(entry), output=entry.output, handler=_handler(res, entry))
        for res in RESOURCES
        for entry in (PROFILE_TOOLS[res.name],)
    ]

"""Per-resource readers: unwrapped `data` -> the normalised domain model of `models.py`.

Each reader is thin: it reads the documented shape (`cdp_mcp.wire`, the one declaration per resource) first and
recognises other spellings only where a field is missing (`recognise.py`); values come from `values.py`, the
next page from `paging.py`. A missing field is absent from the model, never invented (a month without an order
count is unknown, not 0). `PARSERS` maps every catalog resource to its reader; a reader raises
`UpstreamResponseError` (via `need_dict`/`need_items`) when the shape is not usable, naming what is missing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cdp_mcp import wire
from cdp_mcp.catalog import Resource, Scope
from cdp_mcp.client.models import (
    Activity,
    ActivityEvent,
    Affinity,
    AffinityChart,
    AffinityPoint,
    Attribute,
    AttributePage,
    Campaign,
    CampaignPage,
    ChannelConsent,
    Consents,
    DomainModel,
    GcrMatch,
    Membership,
    PageRequest,
    Profile,
    Purchase,
    PurchasePage,
    PurchaseTrends,
    Recommendations,
    RecommendedProduct,
    Segment,
    SegmentPage,
    TrendPoint,
)
from cdp_mcp.client.paging import facts_of, page_info
from cdp_mcp.client.recognise import Item, find_items, norm
from cdp_mcp.client.values import as_bool, as_float, as_month, as_text, is_placeholder, is_scalar
from cdp_mcp.errors import AmbiguousCustomerError, UpstreamResponseError

__all__ = ["PARSERS", "Parser", "need_dict", "need_items"]

Parser = Callable[[Resource, Any, PageRequest | None], DomainModel]

SEGMENT = ("segment", "seg")
CAMPAIGN = ("campaign", "camp")
PRODUCT = ("product", "item", "sku")
ORDER = ("order", "transaction", "purchase")
ACTIVITY = ("activity", "event", "transaction")
ATTRIBUTE = ("attribute", "attr", "field", "property")
CHANNEL = ("channel", "consent")
_PROFILE_SPECIAL = frozenset({"gcr_id"})  # read below: a gcr_id must be positive
_PROFILE_TEXT, _PROFILE_INT = (tuple(name for name, info in Profile.model_fields.items()
                                     if info.annotation == kind | None and name not in _PROFILE_SPECIAL)
                               for kind in (str, int))
"""The profile's plain text and whole-number fields, as `models.Profile` declares them (in its order)."""
_CATEGORY_WORDS = ("categ", "lvl", "level", "name", "label")
_ATTRIBUTE_KEYS = ("attributes", "customattributes", "attributelist", "userattributes")
_LIST_META = frozenset({"customerid", "totalcount", "pagesize", "currentpage", "totalpages", "lastkey", "total"})


def need_dict(resource: Resource, data: Any) -> dict[str, Any]:
    """`data` when it is an object (or a list of exactly one), else an upstream error naming the resource."""
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    if not isinstance(data, dict):
        raise UpstreamResponseError(f"The API answered {resource.name} with data that is not an object.")
    return data


def need_items(resource: Resource, data: Any, *keys: str) -> list[dict[str, Any]]:
    """The item list in `data` (the declared one first, see `find_items`), else an upstream error naming the
    resource."""
    items = find_items(data, *keys, declared=wire.wire_model(resource))
    if items is None:
        raise UpstreamResponseError(f"The API answered {resource.name} without a list of items cdp-mcp can find.")
    return items


def _customer(resource: Resource, data: Any) -> str | None:
    return facts_of(resource, data).text("customer")


def profile(resource: Resource, data: Any, _page: PageRequest | None) -> Profile:
    """The profile card; a missing field (even `customerId`) is absent, the rest of the card stands."""
    item = Item(need_dict(resource, data), declared=wire.BasicData)
    fields: dict[str, Any] = {name: item.text(name) for name in _PROFILE_TEXT}
    fields |= {name: item.integer(name) for name in _PROFILE_INT}
    gcr_id = item.integer("gcr_id")  # undocumented in basic: read when a tenant sends it
    fields |= {"gcr_id": gcr_id if gcr_id and gcr_id > 0 else None, "birth_date": item.day("birth_date"),
               "total_sales": item.money("total_sales"), "average_basket": item.money("average_basket")}
    # After every meaning has claimed its key: what is left is the tenant's own fields.
    extra = {name: value for name, value in item.unused() if is_scalar(value) and not is_placeholder(value)}
    return Profile(extra=extra, **fields)


def _id_and_name(item: Item) -> tuple[str | None, str | None]:
    """An item's id, falling back to its name (a list of bare names is still a list of things)."""
    name = item.text("name")
    return item.text("id") or name, name


def _page_of(model: type[SegmentPage | CampaignPage | PurchasePage], read: Callable[[dict[str, Any]], Any],
             *keys: str) -> Parser:
    """A parser for a paged list: items read one by one (unreadable ones dropped), total and next page."""

    def parse(resource: Resource, data: Any, page: PageRequest | None) -> DomainModel:
        raw = need_items(resource, data, *keys)
        items = [x for x in map(read, raw) if x is not None]
        return model(customer_id=_customer(resource, data), items=items,
                     page=page_info(resource, data, page, len(raw)))

    return parse


def _segment(raw: dict[str, Any]) -> Segment | None:
    item = Item(raw, SEGMENT, declared=wire.Segment)
    ident, name = _id_and_name(item)
    if ident is None:
        return None
    return Segment(id=ident, name=name, description=item.text("description"), category=item.text("category"),
                   joined_on=item.day("joined"))


def membership(resource: Resource, data: Any, _page: PageRequest | None) -> Membership:
    answer = facts_of(resource, data).flag("in_segment") if isinstance(data, dict) else as_bool(data)
    if answer is None:
        field = wire.meanings(wire.IsCustomerInSegmentData)["in_segment"]
        raise UpstreamResponseError(f"The API answered {resource.name} without `{field}` (the yes/no answer).")
    return Membership(in_segment=answer)


def _campaign(raw: dict[str, Any]) -> Campaign | None:
    item = Item(raw, CAMPAIGN, declared=wire.Campaign)
    ident, name = _id_and_name(item)
    if ident is None:
        return None
    return Campaign(id=ident, name=name, channel=item.text("channel"), status=item.text("status"),
                    segment_id=item.text("segment_id", prefixes=()), start_date=item.day("start"),
                    end_date=item.day("end"), sent_on=item.day("sent"), opened=item.flag("opened"),
                    clicked=item.flag("clicked"))


def recommendations(resource: Resource, data: Any, _page: PageRequest | None) -> Recommendations:
    raw = need_items(resource, data, "products", "recommendations", "recommendedproducts")
    items = []
    for element in raw:
        item = Item(element, PRODUCT, declared=wire.Product)
        product = RecommendedProduct(
            product_code=item.text("code"), product_key=item.text("key", bare=False), name=item.text("name"),
            description=item.text("description"), image_url=item.text("image"), price=item.money("price"),
        )
        if product.model_dump(exclude_none=True):
            items.append(product)
    facts = facts_of(resource, data)
    return Recommendations(customer_id=facts.text("customer"), items=items, total=facts.integer("total"),
                           source=facts.text("source"))


def _event(raw: dict[str, Any], day: Any) -> ActivityEvent | None:
    item = Item(raw, ACTIVITY, declared=wire.ActivityItem)
    occurred = item.day("date") or day
    if occurred is None:
        return None
    return ActivityEvent(id=item.text("id"), occurred_on=occurred, type=item.text("type"),
                         channel=item.text("channel"), description=item.text("description"),
                         amount=item.money("amount"))


def activity(resource: Resource, data: Any, _page: PageRequest | None) -> Activity:
    groups = need_items(resource, data, "activities", "events", "timeline")
    events: list[ActivityEvent] = []
    for group in groups:
        item = Item(group, declared=wire.ActivityDay)
        inner = item.sublist("activities", "events", "items", "list", any_list=False)
        if inner is None:
            event = _event(group, None)
            events.extend([event] if event else [])
            continue
        day = item.day("date")
        events.extend(e for e in (_event(x, day) for x in inner if isinstance(x, dict)) if e is not None)
    events.sort(key=lambda e: e.occurred_on, reverse=True)
    return Activity(customer_id=_customer(resource, data), items=events)


def trends(resource: Resource, data: Any, _page: PageRequest | None) -> PurchaseTrends:
    """Months oldest first; a month whose order count or value is missing keeps it missing (unknown, not 0)."""
    facts = Item(need_dict(resource, data), declared=wire.ProductPurchaseTrendsData)
    currency = facts.text("currency")
    points = []
    for element in need_items(resource, data, "trend", "trends", "points"):
        item = Item(element, declared=wire.TrendPoint)
        month = as_month(item.get("month"))
        if month is None:
            continue
        points.append(TrendPoint(month=month, orders=item.integer("orders"),
                                 order_value=item.money("order_value", currency)))
    points.sort(key=lambda p: p.month)
    return PurchaseTrends(customer_id=facts.text("customer"), title=facts.text("title"), points=points)


def _purchase(raw: dict[str, Any]) -> Purchase | None:
    item = Item(raw, ORDER, declared=wire.Purchase)
    purchase = Purchase(
        order_id=item.text("id", bare=False) or item.text("order_ref"),
        product_code=item.text("product_code", prefixes=()),
        product_name=item.text("name", prefixes=PRODUCT), category=item.text("category", prefixes=PRODUCT),
        quantity=item.integer("quantity", prefixes=()), order_value=item.money("amount"), order_date=item.day("date"),
    )
    return purchase if purchase.model_dump(exclude_none=True) else None


def _points(chart: Item) -> list[AffinityPoint]:
    raw = chart.get("points", bare=True)
    if isinstance(raw, dict):  # {"Shoes": 0.8, "Bags": 0.3}
        pairs = [(as_text(k), as_float(v)) for k, v in raw.items()]
    else:
        elements = [e for e in (raw if isinstance(raw, list) else chart.sublist() or []) if isinstance(e, dict)]
        pairs = [(point.text("label"), point.number("score"))
                 for point in (Item(e, declared=wire.ChartPoint) for e in elements)]
    points = [AffinityPoint(label=label, value=value) for label, value in pairs if label and value is not None]
    return sorted(points, key=lambda p: p.value, reverse=True)


def affinity(resource: Resource, data: Any, _page: PageRequest | None) -> Affinity:
    charts = []
    for element in need_items(resource, data, "charts", "affinities", "affinity"):
        chart = Item(element, declared=wire.Chart)
        charts.append(AffinityChart(title=chart.text("title"), x_label=chart.text("xlabel"),
                                    y_label=chart.text("ylabel"), points=_points(chart)))
    facts = facts_of(resource, data)
    return Affinity(customer_id=facts.text("customer"), charts=charts, total=facts.integer("total"))


def _attribute(raw: dict[str, Any]) -> Attribute | None:
    item = Item(raw, ATTRIBUTE, declared=wire.Attribute)
    name = item.text("attr_name")
    if name is None:
        return None
    value = item.get("value")
    return Attribute(name=name, value=value if is_scalar(value) else as_text(value), type=item.text("data_type"))


def attributes(resource: Resource, data: Any, page: PageRequest | None) -> AttributePage:
    raw = find_items(data, *_ATTRIBUTE_KEYS, declared=wire.UserAttributesData)
    if raw is not None and (raw or not isinstance(data, dict)):
        items = [a for a in map(_attribute, raw) if a is not None]
    elif isinstance(data, dict):  # a flat object of name -> value, at the top or under an attributes key
        flat = next((v for k, v in data.items() if norm(k) in _ATTRIBUTE_KEYS and isinstance(v, dict)), data)
        items = [Attribute(name=str(k), value=v) for k, v in flat.items()
                 if norm(k) not in _LIST_META and is_scalar(v) and not is_placeholder(v)]
    else:
        raise UpstreamResponseError(f"The API answered {resource.name} without attributes cdp-mcp can find.")
    return AttributePage(customer_id=_customer(resource, data), items=items,
                         page=page_info(resource, data, page, len(items)))


def gcr(resource: Resource, data: Any, _page: PageRequest | None) -> GcrMatch:
    found: set[int] = set()
    for element in need_items(resource, data):
        item = Item(element, declared=wire.GcrIdData)
        gcr_id = item.integer("gcr_id")
        if gcr_id is not None and gcr_id > 0 and item.flag("status") is not False:
            found.add(gcr_id)
    if len(found) > 1:
        raise AmbiguousCustomerError(f"The identifiers given match {len(found)} golden records on {resource.name}.",
                                     matches=len(found))
    return GcrMatch(found=bool(found), gcr_id=next(iter(found), None))


def _categories(levels: list[Any]) -> list[str]:
    """Consent categories, levels joined (`Promotional / Offers`); a level of "All" adds nothing."""
    names = []
    for element in levels:
        if isinstance(element, dict):
            labels = [(k, v) for k, v in element.items() if not norm(k).endswith(("id", "code", "key"))]
            named = [(k, v) for k, v in labels if any(w in norm(k) for w in _CATEGORY_WORDS)]
            pairs = sorted(named or labels)
            parts = [p for _, v in pairs if (p := as_text(v)) and p.lower() != "all"]
            if parts:
                names.append(" / ".join(parts))
        elif (text := as_text(element)) is not None:
            names.append(text)
    return names


def consents(resource: Resource, data: Any, _page: PageRequest | None) -> Consents:
    channels = []
    for element in need_items(resource, data, "channels", "consents", "optins"):
        item = Item(element, CHANNEL, declared=wire.OptInData)
        name = item.text("name") or item.text("channel", prefixes=())
        if name is None:
            continue
        levels = item.sublist("categories", "consentcategories", "items") or []
        opted = item.flag("opted_in", prefixes=())
        channels.append(ChannelConsent(channel=name.lower(), channel_id=item.text("id"),
                                       opted_in=opted if opted is not None else bool(levels),
                                       categories=_categories(levels)))
    return Consents(channels=channels)


segments = _page_of(SegmentPage, _segment, "segments", "segmentlist")
campaigns = _page_of(CampaignPage, _campaign, "campaigns", "campaignlist")
purchases = _page_of(PurchasePage, _purchase, "purchases", "orders", "products")

PARSERS: dict[str, Parser] = {
    Scope.BASIC: profile,
    Scope.SEGMENTS: segments,
    Scope.SEARCH_SEGMENTS: segments,
    Scope.IS_CUSTOMER_IN_SEGMENT: membership,
    Scope.CAMPAIGNS: campaigns,
    Scope.SEARCH_CAMPAIGNS: campaigns,
    Scope.RECOMMENDED_PRODUCTS: recommendations,
    Scope.USER_ACTIVITY: activity,
    Scope.PRODUCT_PURCHASE_TRENDS: trends,
    Scope.PRODUCT_PURCHASED: purchases,
    Scope.AFFINITY: affinity,
    Scope.USER_ATTRIBUTES: attributes,
    Scope.GCR_ID: gcr,
    Scope.OPT_IN: consents,
}

"""The `data` of each profile resource for one resolved customer, read from the store (blocking).

Each view builds the resource's declaration (`cdp_mcp.wire`), so the sandbox sends exactly the documented
fields, typed as documented. Values follow the vendor's quirks where documented (formatted `totalSales`,
`DD/MM/YYYY` birth date, `DD-MM-YYYY` days, `Mon,YY` buckets) and CONTRACT.md where the docs are open.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from cdp_mcp import wire
from cdp_mcp.catalog import RESOURCES
from cdp_mcp.sandbox.contract import AFFINITY_DEFAULT_PAGE_SIZE, ATTRIBUTES_DEFAULT_PAGE_SIZE, CURRENCY
from cdp_mcp.sandbox.paging import PageParams, last_key
from cdp_mcp.sandbox.seed_data import CHANNELS
from cdp_mcp.sandbox.store import Store

__all__ = ["ACTIVE_DAYS", "NEW_DAYS", "VIEWS", "View", "ViewRequest", "default_page_size", "money", "status_color"]

ACTIVE_DAYS = 90
"""A customer whose last order is more recent than this is `green`; older (or never) is `red`."""
NEW_DAYS = 30
"""A customer whose first order is more recent than this is `blue` (new)."""
_CHARTS = (("category", "Category affinity", "Category"), ("brand", "Brand affinity", "Brand"),
           ("channel", "Channel affinity", "Channel"))
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ACTIVITY_DAYS = 90


@dataclass(frozen=True, slots=True)
class ViewRequest:
    """Everything a view needs: the customer, "today", the query parameter and the page."""

    store: Store
    gcr_id: int
    today: date
    query: str | None
    page: PageParams


def money(amount: float) -> str:
    """`$ 55.9`: the vendor's formatted money (two decimals at most, trailing zeros dropped)."""
    return f"{CURRENCY} {f'{amount:.2f}'.rstrip('0').rstrip('.')}"


def _day(today: date, days_ago: int) -> str:
    return (today - timedelta(days=days_ago)).strftime("%d-%m-%Y")


def _pages(total: int, size: int) -> int:
    return (total + size - 1) // size


def status_color(last_order_days: int | None, first_order_days: int | None) -> Literal["red", "green", "blue"]:
    """`blue` a new customer, `green` an active one, `red` a lapsed one or one who never ordered."""
    if first_order_days is not None and first_order_days < NEW_DAYS:
        return "blue"
    return "green" if last_order_days is not None and last_order_days < ACTIVE_DAYS else "red"


def basic(req: ViewRequest) -> wire.BasicData:
    (row,) = req.store.query(
        "SELECT salutation, first_name, last_name, gender, dob, city, state, address, tier, total_visits, "
        "total_web_sessions, EXISTS(SELECT 1 FROM channel_consents c WHERE c.gcr_id = customers.gcr_id "
        "AND c.opted_in) FROM customers WHERE gcr_id = ?", (req.gcr_id,))
    salutation, first, last, gender, dob, city, state, address, tier, visits, web, opted_in = row
    orders, sales, last_days, first_days = req.store.query(
        "SELECT COUNT(*), COALESCE(SUM(total), 0), MIN(days_ago), MAX(days_ago) FROM orders WHERE gcr_id = ?",
        (req.gcr_id,))[0]
    born = date.fromisoformat(dob)
    age = req.today.year - born.year - ((req.today.month, req.today.day) < (born.month, born.day))
    return wire.BasicData(
        customerId=str(req.gcr_id), profileImageUrl=f"https://img.example.com/customers/{req.gcr_id}.jpg",
        salutation=salutation, fullName=f"{first} {last}", gender=gender, age=age, dob=born.strftime("%d/%m/%Y"),
        statusColor=status_color(last_days, first_days), membershipType=tier, city=city, state=state,
        residenceAddress=address, totalSales=money(sales), totalOrders=orders,
        avgBasketVal=round(sales / orders, 2) if orders else None, totalVisits=visits, daySinceLastPur=last_days,
        totalWebSessions=web, optInStatus="Opted in" if opted_in else "Opted out",
    )


_SEGMENTS_SQL = ("FROM segment_members m JOIN segments s ON s.segment_id = m.segment_id WHERE m.gcr_id = ? "
                 "AND instr(lower(s.name), lower(?)) > 0")


def _segment_rows(req: ViewRequest, offset: int) -> tuple[int, list[wire.Segment]]:
    params = (req.gcr_id, req.query or "")
    total = req.store.scalar(f"SELECT COUNT(*) {_SEGMENTS_SQL}", params)  # constant SQL fragment, no input
    rows = req.store.query(
        f"SELECT s.segment_id, s.name, s.description, s.segment_type, m.added_days_ago {_SEGMENTS_SQL} "
        "ORDER BY m.added_days_ago, s.segment_id LIMIT ? OFFSET ?", (*params, req.page.page_size, offset))
    return total, [wire.Segment(segmentId=r[0], segmentName=r[1], segmentDescription=r[2], segmentType=r[3],
                                addedDate=_day(req.today, r[4])) for r in rows]


def _last_key(req: ViewRequest, offset: int, count: int, total: int) -> wire.LastKey | None:
    return last_key(req.gcr_id, offset + count, total) if count else None


def segments(req: ViewRequest) -> wire.SegmentsData:
    offset = req.page.offset(req.gcr_id)
    total, items = _segment_rows(req, offset)
    return wire.SegmentsData(customerId=req.gcr_id, pageSize=req.page.page_size, totalCount=total, dataList=items,
                             lastKey=_last_key(req, offset, len(items), total))


def search_segments(req: ViewRequest) -> wire.SearchSegmentsData:
    offset = req.page.offset(req.gcr_id)
    total, items = _segment_rows(req, offset)
    return wire.SearchSegmentsData(customerId=req.gcr_id, currentPage=offset // req.page.page_size + 1,
                                   pageSize=req.page.page_size, totalCount=total, dataList=items)


def is_customer_in_segment(req: ViewRequest) -> wire.IsCustomerInSegmentData:
    found = req.store.scalar("SELECT 1 FROM segment_members WHERE gcr_id = ? AND segment_id = ?",
                             (req.gcr_id, (req.query or "").strip()))
    return wire.IsCustomerInSegmentData(status=found is not None)


_CAMPAIGNS_SQL = ("FROM campaign_participation p JOIN campaigns c ON c.campaign_id = p.campaign_id "
                  "WHERE p.gcr_id = ? AND instr(lower(c.name), lower(?)) > 0")


def campaigns(req: ViewRequest) -> wire.CampaignsData:
    offset = req.page.offset(req.gcr_id)
    params = (req.gcr_id, req.query or "")
    total = req.store.scalar(f"SELECT COUNT(*) {_CAMPAIGNS_SQL}", params)  # constant SQL fragment, no input
    rows = req.store.query(
        "SELECT c.campaign_id, c.name, c.channel, c.status, c.segment_id, c.start_days_ago, c.end_days_ago, "
        f"p.sent_days_ago, p.opened, p.clicked {_CAMPAIGNS_SQL} "
        "ORDER BY p.sent_days_ago, c.campaign_id LIMIT ? OFFSET ?", (*params, req.page.page_size, offset))
    items = [wire.Campaign(campaignId=r[0], campaignName=r[1], channel=r[2], campaignStatus=r[3], segmentId=r[4],
                           startDate=_day(req.today, r[5]), endDate=_day(req.today, r[6]),
                           sentDate=_day(req.today, r[7]), opened=bool(r[8]), clicked=bool(r[9])) for r in rows]
    size = req.page.page_size
    return wire.CampaignsData(customerId=req.gcr_id, currentPage=offset // size + 1, pageSize=size, totalCount=total,
                              totalPages=_pages(total, size), dataList=items)


def recommended_products(req: ViewRequest) -> wire.RecommendedProductsData:
    """Products of the customer's two strongest category affinities that they have not bought yet."""
    top = [r[0] for r in req.store.query("SELECT label FROM affinity_scores WHERE gcr_id = ? AND dimension = "
                                         "'category' ORDER BY score DESC, label LIMIT 2", (req.gcr_id,))]
    top += [""] * (2 - len(top))
    rows = req.store.query(
        "SELECT product_id, code, name, description, image_url, price FROM products WHERE category IN (?, ?) "
        "AND product_id NOT IN (SELECT l.product_id FROM orders o JOIN order_lines l ON l.order_id = o.order_id "
        "WHERE o.gcr_id = ?) ORDER BY category = ? DESC, (product_id * 37 + ?) % 101, product_id LIMIT 10",
        (top[0], top[1], req.gcr_id, top[0], req.gcr_id))
    items = [wire.Product(productKey=r[0], productCode=r[1], productName=r[2], productDescription=r[3],
                          productImgUrl=r[4], retailPrice=r[5]) for r in rows]
    return wire.RecommendedProductsData(customerId=req.gcr_id, totalCount=len(items), dataList=items,
                                        dataSource="affinity+purchases")


def user_activity(req: ViewRequest) -> wire.UserActivityData:
    rows = req.store.query(
        "SELECT event_id, days_ago, event_type, channel, description, amount FROM activity_events "
        "WHERE gcr_id = ? AND days_ago < ? ORDER BY days_ago, event_id DESC", (req.gcr_id, _ACTIVITY_DAYS))
    days: dict[int, list[wire.ActivityItem]] = {}
    for event_id, days_ago, kind, channel, text, amount in rows:
        days.setdefault(days_ago, []).append(wire.ActivityItem(id=f"{kind}_{event_id}", activityType=kind,
                                                               channel=channel, description=text, amount=amount))
    return wire.UserActivityData(
        activity=[wire.ActivityDay(date=_day(req.today, d), activityList=items) for d, items in days.items()])


def product_purchase_trends(req: ViewRequest) -> wire.ProductPurchaseTrendsData:
    """The current calendar month and the two before it, oldest first (the current one month-to-date)."""
    months = []
    year, month = req.today.year, req.today.month
    for _ in range(3):
        months.append((year, month))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    months.reverse()
    start = date(*months[0], 1)
    rows = req.store.query("SELECT days_ago, total FROM orders WHERE gcr_id = ? AND days_ago <= ?",
                           (req.gcr_id, (req.today - start).days))
    orders = dict.fromkeys(months, 0)
    value = dict.fromkeys(months, 0.0)
    for days_ago, total in rows:
        when = req.today - timedelta(days=days_ago)
        orders[(when.year, when.month)] += 1
        value[(when.year, when.month)] += total
    return wire.ProductPurchaseTrendsData(
        customerId=str(req.gcr_id), currency=CURRENCY, title="Purchase trend (Last 3 months)",
        dataList=[wire.TrendPoint(time=f"{_MONTHS[m - 1]},{y % 100:02d}", numberOfOrder=orders[(y, m)],
                                  orderValue=round(value[(y, m)], 2)) for y, m in months])


def product_purchased(req: ViewRequest) -> wire.ProductPurchasedData:
    offset = req.page.offset(req.gcr_id)
    total = req.store.scalar("SELECT COUNT(*) FROM orders o JOIN order_lines l ON l.order_id = o.order_id "
                             "WHERE o.gcr_id = ?", (req.gcr_id,))
    rows = req.store.query(
        "SELECT o.order_id, p.code, p.name, p.category, l.quantity, l.amount, o.days_ago FROM orders o "
        "JOIN order_lines l ON l.order_id = o.order_id JOIN products p ON p.product_id = l.product_id "
        "WHERE o.gcr_id = ? ORDER BY o.days_ago, o.order_id DESC, l.line_no LIMIT ? OFFSET ?",
        (req.gcr_id, req.page.page_size, offset))
    items = [wire.Purchase(orderId=f"ORD-{r[0]}", productCode=r[1], productName=r[2], category=r[3], quantity=r[4],
                           orderValue=r[5], orderDate=_day(req.today, r[6])) for r in rows]
    size = req.page.page_size
    return wire.ProductPurchasedData(customerId=req.gcr_id, totalCount=total, currentPage=offset // size + 1,
                                     pageSize=size, totalPages=_pages(total, size), dataList=items,
                                     lastKey=_last_key(req, offset, len(items), total))


def affinity(req: ViewRequest) -> wire.AffinityData:
    """The charts, `pageSize` of them (the first page: the vendor documents no page number for affinity)."""
    rows = req.store.query("SELECT dimension, label, score FROM affinity_scores WHERE gcr_id = ? "
                           "ORDER BY score DESC, label", (req.gcr_id,))
    charts = [wire.Chart(chartTitle=title, xAxisLabel=x, yAxisLabel="Affinity score",
                         chartData=[wire.ChartPoint(label=r[1], value=r[2]) for r in rows if r[0] == dim])
              for dim, title, x in _CHARTS]
    size = req.page.page_size
    return wire.AffinityData(customerId=req.gcr_id, totalCount=len(charts), currentPage=1, pageSize=size,
                             totalPages=_pages(len(charts), size), dataList=charts[:size])


_CAST: dict[str, Callable[[str], Any]] = {"integer": int, "float": float, "boolean": lambda v: v == "true",
                                          "string": str}


def user_attributes(req: ViewRequest) -> wire.UserAttributesData:
    """Attributes by name, `pageSize` at a time; `lastKey` points at the last record sent (null on the last page)."""
    offset = req.page.offset(req.gcr_id)
    total = req.store.scalar("SELECT COUNT(*) FROM custom_attributes WHERE gcr_id = ?", (req.gcr_id,))
    rows = req.store.query("SELECT name, value, data_type FROM custom_attributes WHERE gcr_id = ? ORDER BY name "
                           "LIMIT ? OFFSET ?", (req.gcr_id, req.page.page_size, offset))
    items = [wire.Attribute(attributeName=n, attributeValue=_CAST[t](v), dataType=t) for n, v, t in rows]
    return wire.UserAttributesData(customerId=req.gcr_id, totalCount=total, pageSize=req.page.page_size,
                                   dataList=items, lastKey=_last_key(req, offset, len(items), total))


def opt_in(req: ViewRequest) -> list[wire.OptInData]:
    consents = {r[0]: (r[1], r[2]) for r in req.store.query(
        "SELECT channel_id, opted_in, categories FROM channel_consents WHERE gcr_id = ?", (req.gcr_id,))}
    out = []
    for ch in CHANNELS:
        opted, cats = consents.get(ch.channel_id, (0, ""))
        items = [wire.Consent(consent_category_lvl_1=c, consent_category_lvl_2="All") for c in cats.split(",") if c] \
            if opted else []
        out.append(wire.OptInData(id=ch.channel_id, displayName=ch.name, iconName=ch.icon, dataItems=items))
    return out


search_campaigns = campaigns  # the same list, filtered by the query parameter


def _function_name(resource_name: str) -> str:
    """`productPurchaseTrends` -> `product_purchase_trends`: the view of a resource is found by its name."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", resource_name).lower()


View = Callable[[ViewRequest], wire.WireModel | list[wire.OptInData]]
"""A resource's view: its declared data (a list of items for the bare-array optIn)."""

VIEWS: dict[str, View] = {
    r.name: globals()[_function_name(r.name)] for r in RESOURCES if not r.identity_in_body
}
"""View per catalog resource name; the identity-in-body resource (`gcr`) is answered by the app itself."""

_PAGE_SIZE_DEFAULTS: dict[View, int] = {
    affinity: AFFINITY_DEFAULT_PAGE_SIZE, user_attributes: ATTRIBUTES_DEFAULT_PAGE_SIZE,
}


def default_page_size(resource_name: str) -> int | None:
    """The resource's own default `pageSize` when it differs from its paging style's default."""
    view = VIEWS.get(resource_name)
    return _PAGE_SIZE_DEFAULTS.get(view) if view is not None else None

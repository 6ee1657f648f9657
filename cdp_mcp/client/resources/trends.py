"""productPurchaseTrends: orders and order value per month, over the last 3 months."""

from __future__ import annotations

from pydantic import Field

from cdp_mcp import wire
from cdp_mcp.catalog import Resource, Scope
from cdp_mcp.client.models import DomainModel, Money, PageRequest
from cdp_mcp.client.reading import Reader, need_dict, need_items
from cdp_mcp.client.recognise import Item
from cdp_mcp.client.values import as_month

__all__ = ["PRODUCT_PURCHASE_TRENDS", "PurchaseTrends", "TrendPoint", "read_trends"]


class TrendPoint(DomainModel):
    month: str = Field(description="YYYY-MM")
    orders: int | None = Field(None, description="None when the API did not state it")
    order_value: Money | None = Field(None, description="None when the API did not state it")


class PurchaseTrends(DomainModel):
    customer_id: str | None = None
    title: str | None = None
    points: list[TrendPoint] = Field(description="Oldest month first")


def read_trends(resource: Resource, data: object, _page: PageRequest | None) -> PurchaseTrends:
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


PRODUCT_PURCHASE_TRENDS = Reader(Scope.PRODUCT_PURCHASE_TRENDS, read_trends)

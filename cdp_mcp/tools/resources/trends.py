"""productPurchaseTrends as the get_purchase_trends tool: orders and sales per month, with totals."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from cdp_mcp.client.resources.trends import PRODUCT_PURCHASE_TRENDS, PurchaseTrends
from cdp_mcp.tools.kinds import LeftOut, SingleTool
from cdp_mcp.tools.outputs import Number, OutputModel, Priced, Result, currency_of

__all__ = ["GET_PURCHASE_TRENDS", "Figures", "Trends", "trends"]


class Figures(OutputModel):
    orders: int | None = None
    sales: Number | None = None


class Trends(Result, Priced):
    amount_keys: ClassVar[frozenset[str]] = frozenset({"sales"})

    months: dict[str, Figures] = Field(description="By month (YYYY-MM), oldest first; a figure absent is unknown")
    total: Figures | None = None


def trends(t: PurchaseTrends, gcr_id: int | None) -> Trends:
    """Months and their totals; a total over a month whose figure is unknown is unknown too (never a guess)."""
    months = {p.month: Figures(orders=p.orders,
                                 sales=round(p.order_value.amount, 2) if p.order_value is not None else None)
              for p in t.points}
    orders = [p.orders for p in t.points]
    values = [p.order_value for p in t.points]
    total = Figures(orders=sum(n for n in orders if n is not None) if None not in orders else None,
                      sales=round(sum(v.amount for v in values if v is not None), 2) if None not in values else None)
    return Trends(gcr_id=gcr_id, currency=currency_of(*values), months=months, total=total if months else None)


def _trends_card(data: PurchaseTrends, gcr_id: int | None, _limit: int) -> Result:
    return trends(data, gcr_id)


GET_PURCHASE_TRENDS = SingleTool(
    reader=PRODUCT_PURCHASE_TRENDS, tool="get_purchase_trends", title="Purchase trends",
    description="Orders and order value per month over the last 3 months, oldest first, with totals.",
    output=Trends, shape=_trends_card,
    summary="orders and value per month, last 3 months",
    left_out=LeftOut(("title", "currency"), "the chart's title; the symbol (`$`) is the result's ISO `currency`"),
)

"""productPurchaseTrends, as the sandbox serves it: orders and order value of the last 3 calendar months."""

from __future__ import annotations

from datetime import date, timedelta

from cdp_mcp import wire
from cdp_mcp.catalog import Scope
from cdp_mcp.sandbox.contract import CURRENCY
from cdp_mcp.sandbox.views import SandboxResource, ViewRequest

__all__ = ["PRODUCT_PURCHASE_TRENDS", "product_purchase_trends"]

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


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


PRODUCT_PURCHASE_TRENDS = SandboxResource(
    Scope.PRODUCT_PURCHASE_TRENDS, product_purchase_trends,
    contract="`customerId` is a string. The current calendar month (to date) and the two before it, oldest first, "
             "months without orders included with zeros",
)

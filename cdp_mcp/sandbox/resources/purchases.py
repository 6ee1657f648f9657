"""productPurchased, as the sandbox serves it: the customer's order lines, newest first."""

from __future__ import annotations

from cdp_mcp import wire
from cdp_mcp.catalog import Scope
from cdp_mcp.sandbox.views import SandboxResource, ViewRequest, day, last_key_after, pages

__all__ = ["PRODUCT_PURCHASED", "product_purchased"]

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
                           orderValue=r[5], orderDate=day(req.today, r[6])) for r in rows]
    size = req.page.page_size
    return wire.ProductPurchasedData(customerId=req.gcr_id, totalCount=total, currentPage=offset // size + 1,
                                     pageSize=size, totalPages=pages(total, size), dataList=items,
                                     lastKey=last_key_after(req, offset, len(items), total))


PRODUCT_PURCHASED = SandboxResource(
    Scope.PRODUCT_PURCHASED, product_purchased,
    contract="Lines newest first; *`lastKey`* is `null` on the last page. Paging by `lastKey` or by `page` (both "
             "accepted; `lastKey` wins)",
)

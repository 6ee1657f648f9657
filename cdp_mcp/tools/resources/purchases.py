"""productPurchased as the list_purchased_products tool: what the customer bought, by order."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import Field

from cdp_mcp import wire
from cdp_mcp.client.resources.purchases import PRODUCT_PURCHASED, Purchase
from cdp_mcp.tools.kinds import LeftOut, ListTool
from cdp_mcp.tools.origins import OURS, wired
from cdp_mcp.tools.outputs import Listing, Number, OutputModel, Priced, currency_of
from cdp_mcp.tools.shaping import clean, iso, money

__all__ = ["LIST_PURCHASED_PRODUCTS", "Order", "OrderLine", "PurchaseItem", "Purchases", "purchase_item"]


class OrderLine(OutputModel):
    name: Annotated[str | None, wired(wire.Purchase, "name")] = None
    category: Annotated[str | None, wired(wire.Purchase, "category")] = None
    quantity: int | None = Field(None, description="Absent when 1")
    amount: Number | None = None


class Order(OutputModel):
    date: Annotated[str | None, wired(wire.Purchase, "date")] = None
    products: dict[str, OrderLine] = Field(description="By product code")


class PurchaseItem(OrderLine):
    """One upstream purchase line, before lines are grouped into their orders."""

    order_id: Annotated[str | None, wired(wire.Purchase, "id", "order_ref")] = None
    date: Annotated[str | None, wired(wire.Purchase, "date")] = None
    product_code: Annotated[str | None, wired(wire.Purchase, "product_code")] = None
    currency: Annotated[str | None, OURS] = None


def _orders(rows: list[PurchaseItem]) -> dict[str, Any]:
    """Lines grouped by order (in page order); a product twice in one order is one line with the sums."""
    orders: dict[str, dict[str, Any]] = {}
    for row in rows:
        order = orders.setdefault(row.order_id or f"on {row.date or 'an unknown date'}",
                                  {"date": row.date, "products": {}})
        code = row.product_code or row.name or f"line {len(order['products']) + 1}"
        line = row.model_dump(include=set(OrderLine.model_fields), exclude_none=True)
        if (seen := order["products"].get(code)) is not None:
            line["quantity"] = seen.get("quantity", 1) + line.get("quantity", 1)
            line["amount"] = round(seen.get("amount", 0) + line.get("amount", 0), 2)
        order["products"][code] = line
    return orders


class Purchases(Listing, Priced):
    amount_keys: ClassVar[frozenset[str]] = frozenset({"amount"})

    orders: dict[str, Order] = Field(description="By order id, newest first; total and remaining count orders")

    @classmethod
    def publish(cls, rows: list[Any]) -> Any:
        return _orders(rows)


def purchase_item(p: Purchase) -> PurchaseItem:
    return PurchaseItem(order_id=clean(p.order_id), date=iso(p.order_date), product_code=clean(p.product_code),
                        name=clean(p.product_name), category=clean(p.category),
                        quantity=p.quantity if p.quantity != 1 else None, amount=money(p.order_value),
                        currency=currency_of(p.order_value))


LIST_PURCHASED_PRODUCTS = ListTool(
    reader=PRODUCT_PURCHASED, tool="list_purchased_products", title="Purchased products",
    description="What the customer bought, newest first, by order: date, then per product code its name, "
    "category, quantity and amount; limit counts orders.",
    output=Purchases, item=purchase_item, pages=True, group=lambda line: line.order_id,
    summary="what they bought, newest first",
    left_out=LeftOut(("totalCount",),
                     "it counts purchase lines; the result groups lines by order, so its `total` counts orders"),
)
